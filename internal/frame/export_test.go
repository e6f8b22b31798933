package frame

// White-box hooks for the tests of package frame_test.
var (
	AppendJSONRounded    = appendJSONRounded
	AppendJSONFloatValue = appendJSONFloatValue
)

package redis

// PublishLua is the publish script, for tests that store a publication
// without notifying anyone (a lost notification).
var PublishLua = publishLua

// Prefix is the key prefix in use.
func (b *Broker) Prefix() string { return b.o.Prefix }

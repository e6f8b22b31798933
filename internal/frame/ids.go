package frame

// ValidDeviceID reports whether id matches [A-Za-z0-9._-]{1,64}
// (PROTOCOL.md, "Channels").
func ValidDeviceID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// DeviceChannel returns the channel of device id: "dev/" + id.
func DeviceChannel(id string) string { return ChannelDevPrefix + id }

// ChannelDevice returns the device id of a device channel "dev/<id>"; ok is
// false for any other channel, including malformed device channels.
func ChannelDevice(ch string) (id string, ok bool) {
	if len(ch) <= len(ChannelDevPrefix) || ch[:len(ChannelDevPrefix)] != ChannelDevPrefix {
		return "", false
	}
	id = ch[len(ChannelDevPrefix):]
	if !ValidDeviceID(id) {
		return "", false
	}
	return id, true
}

// ValidChannel reports whether ch is a channel a client may subscribe to:
// "presence" or a well-formed device channel.
func ValidChannel(ch string) bool {
	if ch == ChannelPresence {
		return true
	}
	_, ok := ChannelDevice(ch)
	return ok
}

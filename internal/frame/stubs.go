package frame

import "errors"

// Placeholders replaced by the real codec.
var errTODO = errors.New("frame: codec not built yet")

func decodeClient(b []byte, p Proto, lim *Limits) (ClientMessage, error) {
	return ClientMessage{}, errTODO
}
func appendServer(dst []byte, m ServerMessage, p Proto) ([]byte, error)    { return dst, errTODO }
func decodeServer(b []byte, p Proto, lim *Limits) ([]ServerMessage, error) { return nil, errTODO }
func appendClient(dst []byte, m *ClientMessage, p Proto) ([]byte, error)   { return dst, errTODO }
func appendStored(dst []byte, s *Stored) ([]byte, error)                   { return dst, errTODO }
func decodeStored(b []byte) (*Stored, error)                               { return nil, errTODO }

package hubd

// LimitLoopback makes loopback peers count against connections_per_ip
// (tests run on loopback, which is exempt otherwise).
func LimitLoopback(s *Server) { s.sec.limitLoopback.Store(true) }

package server

// extraRoutes are operations mounted from other packages: the admission
// webhook and the plug-in listing.
func (s *Server) extraRoutes() []route { return nil }

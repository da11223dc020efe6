package server

// adminRoutes are the operations the web UI's dashboard and admin pages
// need (tenants, users, quotas and usage, plug-ins, feeds, policies,
// dashboard aggregates).
func (s *Server) adminRoutes() []route { return nil }

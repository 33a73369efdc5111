package report

// RoutePatterns returns the patterns Handler serves, in the order it
// registers them.
func RoutePatterns() []string {
	ps := make([]string, len(routes))
	for i, rt := range routes {
		ps[i] = rt.pattern
	}
	return ps
}

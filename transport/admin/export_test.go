package admin

// Routes lists every route as "METHOD path", the path at DefaultPrefix, for
// the tests to compare with the OpenAPI document.
func Routes() []string {
	var out []string
	for _, rt := range routeTable() {
		p := DefaultPrefix + rt.path
		if rt.path == "/" {
			p = DefaultPrefix
		}
		out = append(out, rt.method+" "+p)
	}
	return out
}

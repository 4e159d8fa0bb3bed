package admin

import _ "embed"

//go:embed openapi.yaml
var openapiDoc []byte

// OpenAPI returns the OpenAPI 3.0 document of the admin API, in YAML, as
// embedded in the package. Its paths assume the default mount,
// DefaultPrefix; a host mounting elsewhere substitutes its prefix. The
// handler also serves it, behind the same authorization as every route, at
// GET Prefix+"/openapi.yaml". The returned slice is a copy.
func OpenAPI() []byte {
	return append([]byte(nil), openapiDoc...)
}

package webhooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Payload filters narrow a webhook beyond its event types: an event is
// delivered only when its payload, as the configured Envelope renders it,
// satisfies the webhook's filter. A filter is a JSON object mapping dotted
// paths to conditions:
//
//	{"data.attributes.status": "FAILED"}                       equality
//	{"data.attributes.score": {"$gte": 50, "$lt": 90}}        range (ANDed)
//	{"data.attributes.status": {"$in": ["FAILED", "ERROR"]}}
//	{"$or": [{"company.id": 7}, {"data.type": {"$prefix": "Insp"}}]}
//
// Semantics:
//   - A plain value (not an object of operators) means $eq. Several keys in
//     one object are ANDed; $and and $or take a non-empty array of filter
//     objects.
//   - Paths split on "."; a segment that is a non-negative integer indexes
//     an array. A key containing a dot cannot be addressed.
//   - A path that is missing fails every operator except $ne, $nin and
//     {"$exists": false}. A JSON null is present (it equals null).
//   - $eq, $ne, $in and $nin use deep equality: arrays and objects equal
//     when every element does; numbers compare by value (1 equals 1.0).
//     There is no "array contains" form: {"tags": "x"} does not match
//     ["x","y"].
//   - $gt, $gte, $lt and $lte compare numbers with numbers and strings with
//     strings (byte order); mismatched types never match.
//   - $prefix takes a string and matches strings starting with it.
//   - $in and $nin take an array; $exists takes true or false.
//
// Numbers are compared as float64, so integers beyond 2^53 compare
// approximately. The filter document is the request body as delivered; an
// Envelope implementing FilterFielder adds fields at its top level.
// Per-webhook parts of the body (TGMEnvelope's webhookId) are not
// meaningful to filter on.

// MaxFilterDepth is how deeply filters may nest objects, operators and
// $and/$or arrays.
const MaxFilterDepth = 8

// FilterFielder is an optional interface of an Envelope: fields it returns
// are added at the top level of the document filters are evaluated against,
// for values a product's filters address but its body does not carry (the
// Tengine profile's "project.name"). Fields of the body itself take
// precedence over same-named extras.
type FilterFielder interface {
	// FilterFields returns the extra top-level fields for ev; nil for none.
	FilterFields(ev *Event) map[string]any
}

// Filter is a compiled payload filter; safe for concurrent use. The zero
// (nil) Filter matches every document.
type Filter struct {
	root filterNode
}

// filterNode is one compiled condition.
type filterNode interface {
	match(doc any) bool
}

type allOf []filterNode

func (a allOf) match(doc any) bool {
	for _, n := range a {
		if !n.match(doc) {
			return false
		}
	}
	return true
}

type anyOf []filterNode

func (a anyOf) match(doc any) bool {
	for _, n := range a {
		if n.match(doc) {
			return true
		}
	}
	return false
}

// pathCond applies its operators (ANDed) to the value at path.
type pathCond struct {
	path []string
	ops  []filterOp
}

func (p pathCond) match(doc any) bool {
	v, found := lookupPath(doc, p.path)
	for _, op := range p.ops {
		if !op.eval(v, found) {
			return false
		}
	}
	return true
}

// filterOp is one operator with its operand, numbers already float64.
type filterOp struct {
	name string
	arg  any
}

func (o filterOp) eval(v any, found bool) bool {
	switch o.name {
	case "$eq":
		return found && jsonEqual(v, o.arg)
	case "$ne":
		return !found || !jsonEqual(v, o.arg)
	case "$in":
		return found && inList(v, o.arg.([]any))
	case "$nin":
		return !found || !inList(v, o.arg.([]any))
	case "$exists":
		return found == o.arg.(bool)
	case "$prefix":
		s, ok := v.(string)
		return found && ok && strings.HasPrefix(s, o.arg.(string))
	}
	c, ok := compareJSON(v, o.arg)
	if !found || !ok {
		return false
	}
	switch o.name {
	case "$gt":
		return c > 0
	case "$gte":
		return c >= 0
	case "$lt":
		return c < 0
	default: // $lte
		return c <= 0
	}
}

func inList(v any, list []any) bool {
	for _, x := range list {
		if jsonEqual(v, x) {
			return true
		}
	}
	return false
}

// jsonEqual is deep equality of decoded JSON values (float64 numbers).
func jsonEqual(a, b any) bool { return reflect.DeepEqual(a, b) }

// compareJSON orders two numbers or two strings; ok is false otherwise.
func compareJSON(a, b any) (int, bool) {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		case x == y:
			return 0, true
		}
		return 0, false // NaN cannot come from JSON, but never order it
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(x, y), true
	}
	return 0, false
}

func lookupPath(doc any, path []string) (any, bool) {
	cur := doc
	for _, seg := range path {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) || seg != strconv.Itoa(i) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// Match reports whether doc, a decoded JSON value (as json.Unmarshal into
// an any produces), satisfies the filter. A nil Filter matches everything.
func (f *Filter) Match(doc any) bool {
	if f == nil || f.root == nil {
		return true
	}
	return f.root.match(doc)
}

// ParseFilter validates and compiles a filter. null, empty input and {}
// give a nil Filter (match everything). Errors are a *ValidationError whose
// fields are named "filters", "filters.<path>" or "filters.$or[1]..." and
// whose messages name the bad operator or value. maxBytes <= 0 means
// DefaultLimits.MaxFilterBytes.
func ParseFilter(raw []byte, maxBytes int) (*Filter, error) {
	f, _, err := parseFilter(raw, maxBytes)
	return f, err
}

// CanonicalFilter validates a filter and returns its canonical form:
// compact JSON with object keys sorted, nil for "no filter".
func CanonicalFilter(raw []byte, maxBytes int) (json.RawMessage, error) {
	_, canon, err := parseFilter(raw, maxBytes)
	return canon, err
}

func parseFilter(raw []byte, maxBytes int) (*Filter, json.RawMessage, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultLimits.MaxFilterBytes
	}
	ve := &ValidationError{}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, nil, nil
	}
	if len(raw) > maxBytes {
		ve.add("filters", "must be at most %d bytes of JSON", maxBytes)
		return nil, nil, ve
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		ve.add("filters", "must be one JSON object")
		return nil, nil, ve
	}
	obj, ok := v.(map[string]any)
	if !ok {
		ve.add("filters", "must be a JSON object of paths to conditions, e.g. {\"data.name\": \"My Project\"}")
		return nil, nil, ve
	}
	if len(obj) == 0 {
		return nil, nil, nil
	}
	root := compileObject(obj, "filters", 1, ve)
	if err := ve.orNil(); err != nil {
		return nil, nil, err
	}
	canon, err := json.Marshal(obj) // map keys come out sorted; json.Number keeps its text
	if err != nil {
		return nil, nil, fmt.Errorf("webhooks: filters: %w", err)
	}
	return &Filter{root: root}, canon, nil
}

// compileObject compiles one filter object: each key a path or $and/$or.
func compileObject(obj map[string]any, field string, depth int, ve *ValidationError) filterNode {
	if depth > MaxFilterDepth {
		ve.add(field, "nests deeper than %d levels", MaxFilterDepth)
		return nil
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var nodes allOf
	for _, k := range keys {
		v := obj[k]
		switch {
		case k == "$and" || k == "$or":
			nodes = append(nodes, compileList(k, v, field+"."+k, depth, ve))
		case strings.HasPrefix(k, "$"):
			ve.add(field+"."+k, "unknown operator %q at the top of a filter object: use $and, $or or a path", k)
		default:
			path := strings.Split(k, ".")
			if slices.Contains(path, "") {
				ve.add(field+"."+k, "path must be dot-separated names without empty segments")
				continue
			}
			nodes = append(nodes, compileCondition(path, v, field+"."+k, depth, ve))
		}
	}
	if len(nodes) == 1 {
		return nodes[0]
	}
	return nodes
}

func compileList(op string, v any, field string, depth int, ve *ValidationError) filterNode {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		ve.add(field, "%s takes a non-empty array of filter objects", op)
		return nil
	}
	nodes := make([]filterNode, 0, len(list))
	for i, item := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		obj, ok := item.(map[string]any)
		if !ok || len(obj) == 0 {
			ve.add(f, "must be a non-empty filter object")
			continue
		}
		nodes = append(nodes, compileObject(obj, f, depth+1, ve))
	}
	if op == "$or" {
		return anyOf(nodes)
	}
	return allOf(nodes)
}

// compileCondition compiles the condition on one path: an object of
// operators, or any other value meaning $eq.
func compileCondition(path []string, v any, field string, depth int, ve *ValidationError) filterNode {
	if depth+1 > MaxFilterDepth {
		ve.add(field, "nests deeper than %d levels", MaxFilterDepth)
		return nil
	}
	ops, isObj := v.(map[string]any)
	if !isObj || !hasOperatorKey(ops) {
		return pathCond{path: path, ops: []filterOp{{name: "$eq", arg: plainJSON(v)}}}
	}
	names := make([]string, 0, len(ops))
	for k := range ops {
		names = append(names, k)
	}
	sort.Strings(names)
	cond := pathCond{path: path}
	for _, name := range names {
		arg := ops[name]
		if !strings.HasPrefix(name, "$") {
			ve.add(field, "mixes operators and plain keys (%q): write {\"$eq\": {...}} to match an object", name)
			continue
		}
		if op, msg := compileOperator(name, arg); msg != "" {
			ve.add(field+"."+name, "%s", msg)
		} else {
			cond.ops = append(cond.ops, op)
		}
	}
	return cond
}

func hasOperatorKey(m map[string]any) bool {
	for k := range m {
		if strings.HasPrefix(k, "$") {
			return true
		}
	}
	return false
}

// compileOperator checks one operator's operand; msg says what is wrong.
func compileOperator(name string, arg any) (filterOp, string) {
	switch name {
	case "$eq", "$ne":
		return filterOp{name, plainJSON(arg)}, ""
	case "$in", "$nin":
		list, ok := arg.([]any)
		if !ok {
			return filterOp{}, name + " takes an array of values"
		}
		return filterOp{name, plainJSON(list)}, ""
	case "$exists":
		b, ok := arg.(bool)
		if !ok {
			return filterOp{}, "$exists takes true or false"
		}
		return filterOp{name, b}, ""
	case "$gt", "$gte", "$lt", "$lte":
		switch plain := plainJSON(arg).(type) {
		case float64, string:
			return filterOp{name, plain}, ""
		}
		return filterOp{}, name + " takes a number or a string"
	case "$prefix":
		s, ok := arg.(string)
		if !ok {
			return filterOp{}, "$prefix takes a string"
		}
		return filterOp{name, s}, ""
	}
	return filterOp{}, fmt.Sprintf("unknown operator %q (use $eq, $ne, $in, $nin, $exists, $gt, $gte, $lt, $lte or $prefix)", name)
}

// plainJSON turns json.Number into float64, recursively, so operands
// compare with documents decoded by json.Unmarshal.
func plainJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		// Out of float64 range ParseFloat gives ±Inf, which still orders.
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainJSON(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plainJSON(e)
		}
		return out
	}
	return v
}

// filterCache holds compiled filters keyed by their canonical text, so
// Emit compiles each stored filter once. It is bounded: past
// maxCachedFilters entries it starts afresh.
type filterCache struct {
	mu sync.Mutex
	m  map[string]*Filter
}

const maxCachedFilters = 4096

// errStoredFilter marks a stored filter that no longer compiles.
var errStoredFilter = errors.New("webhooks: stored filter does not compile")

// get returns the compiled form of a stored filter. Stored filters were
// validated at write time under the limits then in force, so no size limit
// applies here: a lowered limit must not silently stop them matching.
func (c *filterCache) get(raw []byte) (*Filter, error) {
	c.mu.Lock()
	f, ok := c.m[string(raw)]
	c.mu.Unlock()
	if ok {
		return f, nil
	}
	f, err := ParseFilter(raw, len(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errStoredFilter, err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedFilters {
		c.m = make(map[string]*Filter)
	}
	c.m[string(raw)] = f
	c.mu.Unlock()
	return f, nil
}

package workflowtest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// evalExpr evaluates one ${{ }} expression with the subset of GitHub's semantics the
// workflows use to build names: literals, property access, !, &&, ||, format() and join().
// ctx maps top-level names (matrix, ...) to decoded JSON values.
func evalExpr(t *testing.T, src string, ctx map[string]any) any {
	t.Helper()
	inner, ok := strings.CutPrefix(strings.TrimSpace(src), "${{")
	require.True(t, ok, "not a single ${{ }} expression: %q", src)
	require.True(t, strings.HasSuffix(inner, "}}"), "not a single ${{ }} expression: %q", src)
	node, err := actionlint.NewExprParser().Parse(actionlint.NewExprLexer(inner))
	require.Nil(t, err, "parse %q", src)
	v, eerr := eval(node, ctx)
	require.NoError(t, eerr, "evaluate %q", src)
	return v
}

func eval(n actionlint.ExprNode, ctx map[string]any) (any, error) {
	switch n := n.(type) {
	case *actionlint.VariableNode:
		return ctx[n.Name], nil
	case *actionlint.NullNode:
		return nil, nil
	case *actionlint.BoolNode:
		return n.Value, nil
	case *actionlint.IntNode:
		return float64(n.Value), nil
	case *actionlint.FloatNode:
		return n.Value, nil
	case *actionlint.StringNode:
		return n.Value, nil
	case *actionlint.ObjectDerefNode:
		recv, err := eval(n.Receiver, ctx)
		if obj, ok := recv.(map[string]any); ok && err == nil {
			return obj[n.Property], nil
		}
		return nil, err // property of null (or a scalar) is null
	case *actionlint.NotOpNode:
		v, err := eval(n.Operand, ctx)
		return !truthy(v), err
	case *actionlint.LogicalOpNode:
		l, err := eval(n.Left, ctx)
		if err != nil {
			return nil, err
		}
		if truthy(l) == (n.Kind == actionlint.LogicalOpNodeKindOr) {
			return l, nil
		}
		return eval(n.Right, ctx)
	case *actionlint.FuncCallNode:
		return call(n, ctx)
	}
	return nil, fmt.Errorf("expression node %T is not supported by this evaluator", n)
}

func call(n *actionlint.FuncCallNode, ctx map[string]any) (any, error) {
	args := make([]any, len(n.Args))
	for i, a := range n.Args {
		v, err := eval(a, ctx)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	switch strings.ToLower(n.Callee) {
	case "format":
		out := toString(args[0])
		for i := 1; i < len(args); i++ {
			out = strings.ReplaceAll(out, "{"+strconv.Itoa(i-1)+"}", toString(args[i]))
		}
		return out, nil
	case "contains":
		if list, ok := args[0].([]any); ok {
			for _, v := range list {
				if toString(v) == toString(args[1]) {
					return true, nil
				}
			}
			return false, nil
		}
		return strings.Contains(strings.ToLower(toString(args[0])), strings.ToLower(toString(args[1]))), nil
	case "join":
		list, isList := args[0].([]any)
		if !isList {
			// A single value joins to itself, as GitHub's join does for a primitive.
			if _, obj := args[0].(map[string]any); obj {
				return "", nil
			}
			return toString(args[0]), nil
		}
		sep := ","
		if len(args) > 1 {
			sep = toString(args[1])
		}
		parts := make([]string, len(list))
		for i, v := range list {
			parts[i] = toString(v)
		}
		return strings.Join(parts, sep), nil
	}
	return nil, fmt.Errorf("function %s is not supported by this evaluator", n.Callee)
}

func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case float64:
		return v != 0 && !math.IsNaN(v)
	case string:
		return v != ""
	}
	return true
}

// toString is GitHub's string conversion: integral numbers without a fraction, booleans
// as true/false, null as the empty string.
func toString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		return v
	case []any:
		return "Array"
	}
	return "Object"
}

func TestEvalExpr(t *testing.T) {
	t.Parallel()
	ctx := map[string]any{"matrix": map[string]any{"config": map[string]any{
		"conc": []any{float64(4), float64(8)}, "tp": float64(8), "dp-attn": false, "run-eval": true}}}
	for _, tc := range []struct{ src, want string }{
		{"${{ format('tp{0}-dpa{1}', matrix.config.tp, matrix.config.dp-attn) }}", "tp8-dpafalse"},
		{"${{ join(matrix.config.conc, 'x') }}", "4x8"},
		{"${{ join(matrix.config.tp, 'x') }}", "8"},
		{"${{ contains(join(matrix.config.conc, 'x'), 'x') && 480 || 180 }}", "480"},
		{"${{ contains(join(matrix.config.tp, 'x'), 'x') && 480 || 180 }}", "180"},
		{"${{ matrix.config.prefill && 'multi' || 'single' }}", "single"},
		{"${{ matrix.config.run-eval && ' | eval' || '' }}", " | eval"},
		{"${{ format('{0}{1}{2}{3}{4}{5}{6}{7}{8}{9}{10}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k') }}", "abcdefghijk"},
	} {
		assert.Equal(t, tc.want, toString(evalExpr(t, tc.src, ctx)), "%s", tc.src)
	}
}

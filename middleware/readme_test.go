package middleware_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// TestReadmeQuickStart keeps the README's quick start the compiled
// ExampleNew: the body of the README's main is ExampleNew's body.
func TestReadmeQuickStart(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Quick start\n")
	if !ok {
		t.Fatal("README has no Quick start section")
	}
	_, main, ok := strings.Cut(section, "\nfunc main() {\n")
	if !ok {
		t.Fatal("the quick start has no func main")
	}
	main, _, ok = strings.Cut(main, "\n}\n```")
	if !ok {
		t.Fatal("the quick start's func main does not end its code block")
	}

	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "example_test.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var body string
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "ExampleNew" {
			body = string(src[fset.Position(fn.Body.Lbrace).Offset+2 : fset.Position(fn.Body.Rbrace).Offset-1])
		}
	}
	if body == "" {
		t.Fatal("example_test.go has no ExampleNew")
	}
	if strings.TrimSpace(main) != strings.TrimSpace(body) {
		t.Errorf("README quick start differs from ExampleNew in middleware/example_test.go:\n--- README\n%s\n--- ExampleNew\n%s", main, body)
	}
}

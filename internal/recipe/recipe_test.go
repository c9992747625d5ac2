package recipe

import (
	"path/filepath"
	"testing"
)

func repoRecipes(t *testing.T) *Set {
	t.Helper()
	s, err := LoadFile(filepath.Join("..", "..", "configs", "recipes.yaml"))
	if err != nil {
		t.Fatalf("configs/recipes.yaml: %v", err)
	}
	return s
}

func TestRepoRecipesLoad(t *testing.T) {
	s := repoRecipes(t)
	if len(s.Recipes) < 10 {
		t.Fatalf("only %d recipes", len(s.Recipes))
	}
	for _, r := range s.Recipes {
		if _, err := r.Render(SampleValues(), "img"); err != nil {
			t.Errorf("%s: %v", r.Name, err)
		}
	}
}

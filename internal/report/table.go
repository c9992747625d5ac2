package report

import (
	"io"
	"strings"
	"unicode/utf8"
)

// table is a GitHub-flavoured markdown table laid out like tabulate's "github" format:
// padded columns, numbers right-aligned, text left-aligned.
type table struct {
	header []string
	right  []bool // per column: right-align (numbers)
	rows   [][]string
}

func newTable(header ...string) *table {
	return &table{header: header, right: make([]bool, len(header))}
}

// alignRight marks columns as numeric.
func (t *table) alignRight(cols ...int) *table {
	for _, c := range cols {
		t.right[c] = true
	}
	return t
}

func (t *table) add(cells ...string) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = escapeCell(c)
	}
	t.rows = append(t.rows, row)
}

func (t *table) widths() []int {
	w := make([]int, len(t.header))
	for i, h := range t.header {
		w[i] = utf8.RuneCountInString(h)
	}
	for _, r := range t.rows {
		for i, c := range r {
			w[i] = max(w[i], utf8.RuneCountInString(c))
		}
	}
	return w
}

func (t *table) write(w io.Writer) error {
	widths := t.widths()
	var b strings.Builder
	t.line(&b, t.header, widths)
	b.WriteString("|")
	for _, n := range widths {
		b.WriteString(strings.Repeat("-", n+2) + "|")
	}
	b.WriteString("\n")
	for _, r := range t.rows {
		t.line(&b, r, widths)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (t *table) line(b *strings.Builder, cells []string, widths []int) {
	b.WriteString("|")
	for i, c := range cells {
		pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
		b.WriteString(" ")
		if t.right[i] {
			b.WriteString(pad + c)
		} else {
			b.WriteString(c + pad)
		}
		b.WriteString(" |")
	}
	b.WriteString("\n")
}

// escapeCell keeps a stray pipe in a model name from splitting the row.
func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

package eval

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The expected values are what lm-evaluation-harness (commit b315ef3b, gsm8k.yaml of
// InferenceX utils/evals) produces, worked out by hand through its pipeline:
// re.findall -> match[group_select] -> first non-empty group -> strip (fallback "[invalid]"),
// then exact_match: re.sub(",") re.sub("\$") re.sub("(?s).*#### ") re.sub("\.$"), lower, ==.
// Each comment says why where the outcome is not obvious.
const ref42 = "6 * 7 = <<6*7=42>>42\n#### 42"

var harnessCases = []struct {
	name         string
	resp, ref    string
	strict, flex string
	sOK, fOK     bool
}{
	{"plain marker", "#### 42", ref42, "42", "42", true, true},
	{"sentence with final period", "The answer is 42.", ref42, invalidAnswer, "42.", false, true},
	{"dollar and period", "The answer is $42.", ref42, invalidAnswer, "$42.", false, true},
	{"no space after marker", "####42", ref42, invalidAnswer, "42", false, true},
	// strict needs a digit, '.', ',' or '-' right after "#### ", so "$" kills it.
	{"dollar after marker", "#### $42", ref42, invalidAnswer, "$42", false, true},
	{"two spaces after marker", "####  42", ref42, invalidAnswer, "42", false, true},
	{"markdown bold after marker", "#### **42**", ref42, invalidAnswer, "42", false, true},
	{"words after number", "#### 42 apples", ref42, "42", "42", true, true},
	{"marker then newline", "#### 42\n", ref42, "42", "42", true, true},
	// strict takes the FIRST marker, flexible the LAST number-like token.
	{"two markers wrong first", "#### 41\n#### 42", ref42, "41", "42", false, true},
	{"two markers right first", "#### 42 #### 43", ref42, "42", "43", true, false},
	{"check line after marker", "#### 42\nCheck: 6 * 7 = 42, not 43", ref42, "42", "43", true, false},
	{"next question leaks", "So #### 42\n\nQuestion: what is 8", ref42, "42", "8", true, false},
	{"last number wins", "I think it is 5 or 42", ref42, invalidAnswer, "42", false, true},
	{"last number wrong", "42 is the answer, not 24", ref42, invalidAnswer, "24", false, false},
	{"marker trailing period", "#### 42.", ref42, "42.", "42.", true, true},
	// "\.$" removes one dot only.
	{"marker trailing ellipsis", "#### 42...", ref42, "42...", "42...", false, false},
	{"ellipsis after answer", "So 42...", ref42, invalidAnswer, "42...", false, false},
	{"ellipsis before answer", "Wait... so 42", ref42, invalidAnswer, "42", false, true},
	{"leading dots kept", "...42", ref42, invalidAnswer, "...42", false, false},
	{"exclamation", "The answer is 42!", ref42, invalidAnswer, "42", false, true},
	{"percent sign", "The answer is 42%", ref42, invalidAnswer, "42", false, true},
	{"boxed", `\boxed{42}`, ref42, invalidAnswer, "42", false, true},
	// commas vanish wherever they are, so 4,2 equals 42.
	{"comma inside digits", "#### 4,2", ref42, "4,2", "4,2", true, true},
	{"trailing comma", "The answer is 42, yes", ref42, invalidAnswer, "42,", false, true},
	{"list then answer", "1,2,3, 42", ref42, invalidAnswer, "42", false, true},
	// no numeric equivalence: strings are compared.
	{"decimal zero", "#### 42.0", ref42, "42.0", "42.0", false, false},
	{"leading zero", "#### 042", ref42, "042", "042", false, false},
	// a lone "$" is one character: the first alternative needs two, the second a digit.
	{"dollar space number", "It is $ 42", ref42, invalidAnswer, "42", false, true},
	{"minus dollar", "The answer is -$42", ref42, invalidAnswer, "-$42", false, false},
	{"double dash", "-- 42", ref42, invalidAnswer, "42", false, true},
	{"empty", "", ref42, invalidAnswer, invalidAnswer, false, false},
	{"no numbers", "I don't know.", ref42, invalidAnswer, invalidAnswer, false, false},
	{"final period then newline", "The answer is 42.\n", ref42, invalidAnswer, "42.", false, true},
	{"marker period newline", "#### 3.\n", "#### 3", "3.", "3.", true, true},
	{"scientific", "The answer is 1e3", "#### 1000", invalidAnswer, "3", false, false},
	{"space thousands", "#### 1 000", "#### 1000", "1", "000", false, false},
	{"comma thousands", "#### 1,234", "#### 1234", "1,234", "1,234", true, true},
	{"dollar thousands then marker", "So she pays $1,234.\n#### 1,234", "#### 1234", "1,234", "1,234", true, true},
	{"millions", "Total: 1,000,000 dollars", "#### 1000000", invalidAnswer, "1,000,000", false, true},
	{"dollar-heavy working", "It costs $5 each, so 8 * $5 = $40.\n#### 40", "#### 40", "40", "40", true, true},
	// a single digit is only reachable through the second alternative.
	{"single digit", "#### 7", "#### 7", "7", "7", true, true},
	{"single digit dollar", "#### $7", "#### 7", invalidAnswer, "$7", false, true},
	{"negative marker", "#### -5", "7 - 12 = -5\n#### -5", "-5", "-5", true, true},
	// "-5" fails the first alternative (one class char after '-') and takes the second.
	{"negative in text", "It falls to -5", "#### -5", invalidAnswer, "-5", false, true},
	{"negative zero", "#### -0", "#### 0", "-0", "-0", false, false},
	{"subtraction", "Answer: 5-3=2", "#### 2", invalidAnswer, "2", false, true},
	{"leading dot decimal", "#### .5", "#### .5", ".5", ".5", true, true},
	{"reference with dollars and commas", "#### 1200", "She earns $1,200 a week.\n#### 1,200", "1200", "1200", true, true},
	{"bare number reference", "The answer is 15.", "15", invalidAnswer, "15.", false, true},
	{"date at end", "#### 42 (checked on 2024-05-01)", ref42, "42", "-01", true, false},
}

func TestScoreGSM8KMatchesHarness(t *testing.T) {
	t.Parallel()
	cases := harnessCases
	require.GreaterOrEqual(t, len(cases), 40, "table has %d cases, want at least 40", len(cases))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ScoreGSM8K(c.resp, c.ref)
			want := Score{Strict: c.strict, Flexible: c.flex, StrictOK: c.sOK, FlexibleOK: c.fOK}
			assert.Equal(t, want, got, "ScoreGSM8K(%q, %q)", c.resp, c.ref)
		})
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"1,234", "1234"},
		{"$42.", "42"},
		{"42..", "42."},
		{"reasoning $3,000.\n#### 3,000", "3000"},
		{"a #### b #### 7", "7"},
		{"42.\n", "42\n"},
		{"ABC", "abc"},
		{"[invalid]", "[invalid]"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Normalize(c.in), "Normalize(%q)", c.in)
	}
}

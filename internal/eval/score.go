package eval

import (
	"regexp"
	"strings"
)

// The gsm8k scoring pipeline of lm-evaluation-harness, as InferenceX's utils/evals/gsm8k.yaml
// configures it (harness commit b315ef3b, lm_eval/filters/extraction.py RegexFilter and
// lm_eval/api/metrics.py exact_match_hf_evaluate):
//
//	strict-match:     regex "#### (\-?[0-9\.\,]+)", group_select 0 (first match), take_first
//	flexible-extract: regex "(-?[$0-9.,]{2,})|(-?[0-9]+)", group_select -1 (last match), take_first
//	exact_match:      on prediction and reference alike, re.sub each of
//	                  [",", "\$", "(?s).*#### ", "\.$"] in order, then lower-case
//	                  (ignore_punctuation false), then compare strings.
//
// A response with no match becomes the fallback "[invalid]", which never equals a reference.
// Go's RE2 picks leftmost-first alternatives and scans non-overlapping matches left to right
// exactly as Python's re.findall does for these patterns (no backreferences, no empty
// matches), so the extraction is the same.

// Filter names as the harness reports them ("exact_match,<filter>").
const (
	FilterStrict   = "strict-match"
	FilterFlexible = "flexible-extract"
	invalidAnswer  = "[invalid]"
)

var (
	strictRe   = regexp.MustCompile(`#### (\-?[0-9\.\,]+)`)
	flexibleRe = regexp.MustCompile(`(-?[$0-9.,]{2,})|(-?[0-9]+)`)
	// Python's "(?s).*#### " is greedy: it removes everything up to the last "#### ".
	answerPrefixRe = regexp.MustCompile(`(?s).*#### `)
)

// ExtractStrict applies the strict-match filter to one response.
func ExtractStrict(resp string) string { return extract(strictRe, resp, 0) }

// ExtractFlexible applies the flexible-extract filter to one response.
func ExtractFlexible(resp string) string { return extract(flexibleRe, resp, -1) }

// extract mirrors RegexFilter.apply: findall, pick match number sel (negative counts from
// the end), take the first non-empty group of a multi-group match, strip whitespace.
func extract(re *regexp.Regexp, resp string, sel int) string {
	all := re.FindAllStringSubmatch(resp, -1)
	if len(all) == 0 {
		return invalidAnswer
	}
	if sel < 0 {
		sel += len(all)
	}
	m := all[sel]
	for _, g := range m[1:] {
		if g != "" {
			return strings.TrimSpace(g)
		}
	}
	return strings.TrimSpace(m[0])
}

// Normalize is the exact_match preprocessing applied to both sides before comparing.
func Normalize(s string) string {
	s = strings.ReplaceAll(s, ",", "")
	s = strings.ReplaceAll(s, "$", "")
	s = answerPrefixRe.ReplaceAllString(s, "")
	s = trimFinalDot(s)
	return strings.ToLower(s)
}

// trimFinalDot is Python's re.sub(r"\.$", "", s): without MULTILINE, "$" matches at the very
// end and also just before a final newline, so "42.\n" loses its dot too. RE2's "$" only
// matches at the very end, hence the hand-written version.
func trimFinalDot(s string) string {
	switch {
	case strings.HasSuffix(s, "."):
		return s[:len(s)-1]
	case strings.HasSuffix(s, ".\n"):
		return s[:len(s)-2] + "\n"
	}
	return s
}

// ExactMatch reports whether an extracted answer equals the reference after normalisation.
func ExactMatch(pred, ref string) bool { return Normalize(pred) == Normalize(ref) }

// Score is the outcome of scoring one response against its reference.
type Score struct {
	Strict, Flexible     string // extracted answers (or "[invalid]")
	StrictOK, FlexibleOK bool
}

// ScoreGSM8K runs both filters over a response and compares each with the reference (the
// full gsm8k answer text, "... #### 72", or the bare number).
func ScoreGSM8K(resp, ref string) Score {
	s := Score{Strict: ExtractStrict(resp), Flexible: ExtractFlexible(resp)}
	s.StrictOK = ExactMatch(s.Strict, ref)
	s.FlexibleOK = ExactMatch(s.Flexible, ref)
	return s
}

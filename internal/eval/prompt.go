package eval

import "strings"

// The prompt InferenceX's utils/evals/gsm8k.yaml gives the harness. With
// --apply_chat_template and without --fewshot_as_multiturn, lm-eval puts the few-shot
// examples and the question into ONE user message: each example is
// doc_to_text + target_delimiter (" ") + doc_to_target (the full worked answer), examples
// are joined by the fewshot_delimiter ("\n\n"), which also separates the last example from
// the question (lm_eval/api/task.py fewshot_context, samplers.py get_context).
const (
	targetDelimiter   = " "
	fewshotDelimiter  = "\n\n"
	defaultNumFewshot = 2
)

// StopStrings are the task's generation_kwargs.until, sent as the request's stop list.
var StopStrings = []string{"Question:", "</s>", "<|im_end|>"}

// docToText renders one question the way the task's doc_to_text does.
func docToText(d Doc) string {
	return "Question: " + d.Question + "\nEnd your answer with: #### <answer>\nAnswer:"
}

// BuildPrompt is the user message for doc with the first n few-shot examples of shots.
// (The harness samples its examples from the train split with a fixed seed; the built-in
// set is small, so it takes them in order, which keeps prompts reproducible.)
func BuildPrompt(doc Doc, shots []Doc, n int) string {
	if n > len(shots) {
		n = len(shots)
	}
	var b strings.Builder
	for _, s := range shots[:n] {
		b.WriteString(docToText(s))
		b.WriteString(targetDelimiter)
		b.WriteString(s.Answer)
		b.WriteString(fewshotDelimiter)
	}
	b.WriteString(docToText(doc))
	return b.String()
}

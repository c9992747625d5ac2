package loadgen

import (
	"math"
	"math/rand/v2"
	"strconv"
)

// idBase keeps generated ids above the special tokens (<unk>, <s>, </s>, pads, reserved
// control tokens) that sit at the bottom of every common vocabulary.
const idBase = 1000

// Prompt is one synthetic request. Token ids are not stored: id j of request i is
// idBase + (Offset+i+j) mod (VocabSize-idBase), so a 10k-prompt 8k-token set costs no memory.
type Prompt struct {
	Index     int
	Offset    int // per-request random offset into the vocabulary
	InputLen  int // random tokens after the shared prefix
	OutputLen int // max_tokens
	PromptLen int // prefix + input (+ chat template): the client-side input token count
}

// Dataset is the reference's random dataset (docs/measurement.md#dataset) without a tokenizer.
//
// Divergence from the reference, by design: the draws come from Go's PCG seeded with Seed,
// not NumPy's Mersenne Twister, so lengths are uniform in the same ranges with the same draw
// order (prefix, input lengths, output lengths, offsets) but not the same values; and prompts
// are token ids, so the reference's decode/re-encode repair loop is unnecessary and the
// input length is exact.
type Dataset struct {
	Prompts []Prompt
	Prefix  []int // shared prefix ids
	vocab   int
	mode    string
}

// NewDataset draws the dataset for cfg. It is a pure function of the length settings,
// the vocabulary size and the seed.
func NewDataset(cfg Config) *Dataset {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	span := cfg.VocabSize - idBase
	d := &Dataset{vocab: cfg.VocabSize, mode: cfg.DatasetMode, Prefix: make([]int, cfg.PrefixLen)}
	for i := range d.Prefix {
		d.Prefix[i] = idBase + rng.IntN(span)
	}
	n := cfg.NumPrompts
	d.Prompts = make([]Prompt, n)
	// The chat template's tokens count towards the input, so the content is drawn that much
	// shorter, as the reference does.
	inHi := max(1, cfg.InputLen-cfg.ChatTemplateTokens)
	inLo := int(math.Floor(float64(inHi) * cfg.RangeRatio))
	outLo := int(math.Floor(float64(cfg.OutputLen) * cfg.RangeRatio))
	for i := range d.Prompts {
		d.Prompts[i].Index = i
		d.Prompts[i].InputLen = uniform(rng, inLo, inHi)
	}
	for i := range d.Prompts {
		d.Prompts[i].OutputLen = max(1, uniform(rng, outLo, cfg.OutputLen))
	}
	for i := range d.Prompts {
		d.Prompts[i].Offset = rng.IntN(span)
		d.Prompts[i].PromptLen = cfg.PrefixLen + d.Prompts[i].InputLen + cfg.ChatTemplateTokens
	}
	return d
}

// uniform draws an integer in [lo, hi] inclusive, like np.random.randint(lo, hi+1).
func uniform(rng *rand.Rand, lo, hi int) int {
	if hi <= lo {
		return hi
	}
	return lo + rng.IntN(hi-lo+1)
}

// tokenID returns token j (after the prefix) of prompt p.
func (d *Dataset) tokenID(p *Prompt, j int) int {
	return idBase + (p.Offset+p.Index+j)%(d.vocab-idBase)
}

// appendIDs appends the prompt's ids as a JSON array.
func (d *Dataset) appendIDs(b []byte, p *Prompt) []byte {
	b = append(b, '[')
	for j, id := range d.Prefix {
		if j > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	for j := 0; j < p.InputLen; j++ {
		if j > 0 || len(d.Prefix) > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(d.tokenID(p, j)), 10)
	}
	return append(b, ']')
}

// words are common English words that are a single token in the tokenizers of the models
// benchmarked (Llama, DeepSeek, Qwen, gpt-oss), so a text prompt of n words is close to n
// tokens. They need no JSON escaping.
var words = [...]string{
	"the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by",
	"on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an",
	"had", "they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there",
	"been", "if", "more", "when", "will", "would", "who", "so", "no", "time", "people", "water",
	"day", "world", "house", "light", "city", "river", "stone", "music", "paper", "table",
	"window", "garden", "market", "number", "system", "story", "school", "morning", "evening",
}

// appendText appends the prompt as a JSON string of one word per token.
func (d *Dataset) appendText(b []byte, p *Prompt) []byte {
	b = append(b, '"')
	first := true
	add := func(id int) {
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = append(b, words[id%len(words)]...)
	}
	for _, id := range d.Prefix {
		add(id)
	}
	for j := 0; j < p.InputLen; j++ {
		add(d.tokenID(p, j))
	}
	return append(b, '"')
}

package result

// MetaEnv is meta_env.json, written next to the lm-eval results (docs/evals.md#artifacts). isl and osl are
// strings in the reference format.
type MetaEnv struct {
	Framework    string `json:"framework"`
	Precision    string `json:"precision"`
	SpecDecoding string `json:"spec_decoding"`
	TP           int    `json:"tp"`
	Conc         int    `json:"conc"`
	EP           int    `json:"ep"`
	DPAttention  bool   `json:"dp_attention"`
	Model        string `json:"model"`
	HW           string `json:"hw"`
	ISL          string `json:"isl"`
	OSL          string `json:"osl"`
}

// EvalRow is one row of agg_eval_all.json (docs/evals.md#collection), field order as the reference emits it.
// Scores are fractions in 0..1; absent values are null.
type EvalRow struct {
	Model        string   `json:"model"`
	HW           string   `json:"hw"`
	Framework    string   `json:"framework"`
	Precision    string   `json:"precision"`
	SpecDecoding string   `json:"spec_decoding"`
	TP           int      `json:"tp"`
	EP           int      `json:"ep"`
	Conc         int      `json:"conc"`
	DPAttention  string   `json:"dp_attention"`
	Task         string   `json:"task"`
	EMStrict     *float64 `json:"em_strict"`
	EMStrictSE   *float64 `json:"em_strict_se"`
	EMFlexible   *float64 `json:"em_flexible"`
	EMFlexibleSE *float64 `json:"em_flexible_se"`
	NEff         *int     `json:"n_eff"`
	Source       string   `json:"source"`
	Score        *float64 `json:"score"`
	ScoreName    *string  `json:"score_name"`
	ScoreSE      *float64 `json:"score_se"`
	// Our additions.
	Threshold *float64 `json:"threshold,omitempty"`
	Passed    *bool    `json:"passed,omitempty"`
}

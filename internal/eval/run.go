package eval

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Options configure a built-in eval against a running OpenAI-compatible server.
type Options struct {
	// BaseURL is the server root (http://127.0.0.1:8888), its /v1 base or the full
	// chat-completions URL.
	BaseURL string
	Model   string
	APIKey  string
	Task    string // "gsm8k" (the default when empty)
	// NumFewshot examples precede each question (the reference passes 2; 0 is zero-shot).
	NumFewshot int
	// Limit evaluates only the first Limit documents; 0 means all.
	Limit int
	// Concurrency is the number of requests in flight (the row's conc); at least 1.
	Concurrency int
	// Gen holds the generation settings; zero values take the reference's
	// max_tokens=8192, temperature=0, top_p=1.
	Gen GenParams
	// RequestTimeout bounds one request (the harness's timeout=600); zero means 600s.
	RequestTimeout time.Duration
	// Retries of a request after a transport error or a 5xx; negative means none, zero 3.
	Retries int
	// HTTPClient overrides the client (tests); nil builds one sized for Concurrency.
	HTTPClient *http.Client
	// Dataset overrides the built-in dataset (tests).
	Dataset *Dataset
}

func (o *Options) defaults() {
	if o.Task == "" {
		o.Task = TaskGSM8K
	}
	if o.Concurrency < 1 {
		o.Concurrency = 1
	}
	if o.Gen.MaxTokens == 0 {
		o.Gen = GenParams{MaxTokens: 8192, Temperature: 0, TopP: 1}
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 600 * time.Second
	}
	if o.Retries == 0 {
		o.Retries = 3 // negative stays negative: defaults may run twice
	}
}

func (o *Options) validate() error {
	var errs []error
	if o.BaseURL == "" {
		errs = append(errs, errors.New("no base URL: pass the server's address, e.g. http://127.0.0.1:8888"))
	}
	if o.Model == "" {
		errs = append(errs, errors.New("no model: pass the served model name"))
	}
	if o.Limit < 0 {
		errs = append(errs, fmt.Errorf("limit %d is negative: pass 0 for all documents", o.Limit))
	}
	if o.NumFewshot < 0 {
		errs = append(errs, fmt.Errorf("num-fewshot %d is negative", o.NumFewshot))
	}
	return errors.Join(errs...)
}

// Run evaluates the task against the endpoint with the built-in dataset and scorer. It
// returns an error only when the eval could not be done at all (bad options, every request
// failed, cancellation); single failed requests count as wrong answers and in Record.Failed.
func Run(ctx context.Context, opts Options) (*Record, error) {
	opts.defaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	ds := opts.Dataset
	if ds == nil {
		var err error
		if ds, err = BuiltinDataset(opts.Task); err != nil {
			return nil, err
		}
	}
	docs := ds.Test
	if opts.Limit > 0 && opts.Limit < len(docs) {
		docs = docs[:opts.Limit]
	}
	if opts.NumFewshot > len(ds.Fewshot) {
		return nil, fmt.Errorf("num-fewshot %d: the %s set has only %d few-shot examples", opts.NumFewshot, ds.Name, len(ds.Fewshot))
	}
	client := newChatClient(opts)
	if opts.HTTPClient == nil {
		// Leave no connection behind: a dialled but unused one would hold up the server's
		// graceful shutdown (net/http waits 5s for connections that never sent a request).
		defer client.http.CloseIdleConnections()
	}
	samples := make([]Sample, len(docs))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(opts.Concurrency, len(docs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				samples[i] = evalDoc(ctx, client, i, docs[i], ds.Fewshot, opts.NumFewshot)
			}
		}()
	}
feed:
	for i := range docs {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("eval cancelled: %w", err)
	}
	return summarize(opts, len(ds.Test), samples)
}

func newChatClient(opts Options) *chatClient {
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{
			Timeout:   opts.RequestTimeout,
			Transport: &http.Transport{MaxIdleConnsPerHost: opts.Concurrency, MaxConnsPerHost: opts.Concurrency},
		}
	}
	return &chatClient{
		http: hc, url: chatURL(opts.BaseURL), model: opts.Model, apiKey: opts.APIKey,
		gen: opts.Gen, retries: max(opts.Retries, 0), backoff: 500 * time.Millisecond, stopList: StopStrings,
	}
}

func evalDoc(ctx context.Context, c *chatClient, id int, d Doc, shots []Doc, n int) Sample {
	s := Sample{DocID: id, Doc: d, Prompt: BuildPrompt(d, shots, n)}
	resp, err := c.complete(ctx, s.Prompt)
	if err != nil {
		s.Err = err.Error()
	}
	s.Response = resp
	sc := ScoreGSM8K(resp, d.Answer)
	s.Strict, s.Flexible, s.StrictOK, s.FlexibleOK = sc.Strict, sc.Flexible, sc.StrictOK, sc.FlexibleOK
	return s
}

// BuiltinHarness is what the built-in runner writes as lm_eval_version: the collectors
// recognise a results file by that key, and readers can tell our runs from the harness's.
const BuiltinHarness = "inferbench-builtin/1 (lm-eval gsm8k scoring @ b315ef3b)"

func summarize(opts Options, nOriginal int, samples []Sample) (*Record, error) {
	rec := &Record{
		Task: opts.Task, Metric: "exact_match", N: len(samples), NOriginal: nOriginal,
		NumFewshot: opts.NumFewshot, Model: opts.Model, Harness: BuiltinHarness, Samples: samples,
	}
	strict := make([]bool, len(samples))
	flex := make([]bool, len(samples))
	var firstErr string
	for i, s := range samples {
		strict[i], flex[i] = s.StrictOK, s.FlexibleOK
		if s.Err != "" {
			rec.Failed++
			if firstErr == "" {
				firstErr = s.Err
			}
		}
	}
	if len(samples) > 0 && rec.Failed == len(samples) {
		return nil, fmt.Errorf("all %d eval requests failed; the first: %s", rec.Failed, firstErr)
	}
	rec.Strict, rec.Flexible = meanMeasure(strict), meanMeasure(flex)
	return rec, nil
}

// Check applies the defaults and reports every problem with the options.
func (o *Options) Check() error {
	o.defaults()
	return o.validate()
}

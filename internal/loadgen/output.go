package loadgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/stats"
)

// Raw converts the outcome to the raw result record: the reference's keys first, then
// ours (schema version, failures, errors, send lag, per-token ITL, per-request
// interactivity). dateLoc is the zone of the "date" key (the reference uses local time).
func (o *Outcome) Raw(dateLoc *time.Location) *result.Raw {
	m := &o.Metrics
	c := &o.Config
	if dateLoc == nil {
		dateLoc = time.Local
	}
	r := &result.Raw{
		Date:                 o.End.In(dateLoc).Format("20060102-150405"),
		Backend:              c.Backend,
		ModelID:              c.Model,
		TokenizerID:          c.Model,
		BestOf:               1,
		NumPrompts:           c.NumPrompts,
		RequestRate:          c.RequestRate,
		Burstiness:           c.Burstiness,
		MaxConcurrency:       c.MaxConcurrency,
		Duration:             o.Duration.Seconds(),
		Completed:            m.Completed,
		TotalInputTokens:     m.TotalInput,
		TotalOutputTokens:    m.TotalOutput,
		RequestThroughput:    m.RequestThroughput,
		OutputThroughput:     m.OutputThroughput,
		TotalTokenThroughput: m.TotalTokenThroughput,
		Ext: &result.RawExt{
			SchemaVersion:    result.RawSchema,
			AgentVersion:     c.AgentVersion,
			Endpoint:         c.Endpoint,
			DatasetMode:      c.DatasetMode,
			ChatTemplate:     c.ChatTemplate,
			TemplateTokens:   c.ChatTemplateTokens,
			PromptEstimated:  m.PromptEstimated,
			InputLen:         c.InputLen,
			OutputLen:        c.OutputLen,
			RandomRangeRatio: c.RangeRatio,
			IgnoreEOS:        c.IgnoreEOS,
			NumWarmups:       c.NumWarmups,
			Seed:             int64(c.Seed),
			Failed:           m.Failed,
			Errors:           m.Errors,
			MissingUsage:     m.MissingUsage,
			ShortOutputs:     m.ShortOutputs,
			PromptMismatches: m.PromptMismatch,
			ClientBehind:     m.ClientBehind,
			ClientWarnings:   m.Warnings(),
			ClientCPUSeconds: m.ClientCPUSeconds,
			StartUnix:        float64(o.Start.UnixNano()) / 1e9,
			EndUnix:          float64(o.End.UnixNano()) / 1e9,
			WarmupFailed:     o.WarmupErr,
			TokensSpread:     m.TokensSpread,
			ClientCPUUtil:    m.ClientCPUUtil,
			Canceled:         o.Canceled,
			NotSent:          m.NotSent,
			InputLens:        m.InputLens,
			OutputLens:       m.OutputLens,
		},
	}
	stat := func(s stats.Summary) result.Stat {
		st := result.Stat{Mean: s.Mean, Median: s.Median, Std: s.Std}
		for i, p := range m.Percentiles {
			st.Percentiles = append(st.Percentiles, result.Percentile{P: p, Value: s.Percentiles[i]})
		}
		return st
	}
	lag := result.Stat{Mean: m.SendLag.Mean, Median: m.SendLag.Median, Std: m.SendLag.Std,
		Percentiles: []result.Percentile{{P: 99, Value: m.SendLag.Percentiles[0]}}, Max: &m.SendLagMax}
	r.Metrics = []result.Metric{
		{Name: "ttft", Unit: "ms", Stat: stat(m.TTFT)},
		{Name: "tpot", Unit: "ms", Stat: stat(m.TPOT)},
		{Name: "itl", Unit: "ms", Stat: stat(m.ITL)},
		{Name: "e2el", Unit: "ms", Stat: stat(m.E2EL)},
		{Name: result.MetricITLPerToken, Unit: "ms", Stat: stat(m.ITLPerToken)},
		{Name: result.MetricSendLag, Unit: "ms", Stat: lag},
		{Name: result.MetricIntvtyPerRequest, Stat: stat(m.Interactivity)},
		{Name: "send_lag_steady", Unit: "ms", Stat: result.Stat{Mean: m.SteadySendLag.Mean, Median: m.SteadySendLag.Median, Std: m.SteadySendLag.Std,
			Percentiles: []result.Percentile{{P: 99, Value: m.SteadySendLag.Percentiles[0]}}}},
		{Name: "read_lag", Unit: "ms", Stat: result.Stat{Mean: m.ReadLag.Mean, Median: m.ReadLag.Median, Std: m.ReadLag.Std,
			Percentiles: []result.Percentile{{P: 99, Value: m.ReadLag.Percentiles[0]}}}},
	}
	return r
}

// MarshalRaw renders the raw result JSON (one line, like the reference's json.dump).
func (o *Outcome) MarshalRaw(dateLoc *time.Location, requestsFile string) ([]byte, error) {
	r := o.Raw(dateLoc)
	r.Ext.RequestsFile = requestsFile
	b, err := json.Marshal(r)
	if err != nil || !o.Config.SaveDetailed || len(b) < 2 || b[len(b)-1] != '}' {
		return b, err
	}
	return o.appendDetailed(b[:len(b)-1]), nil
}

// appendDetailed appends the reference's --save-detailed keys to an open JSON object and
// closes it: per request in dataset order, "ttfts" (s, 0 for a failure), "itls" (the
// chunk gaps in s) and "request_errors" ("" for a success; the reference calls it
// "errors", which here is already the error histogram). Generated texts are not kept.
func (o *Outcome) appendDetailed(b []byte) []byte {
	secs := func(b []byte, d time.Duration) []byte { return strconv.AppendFloat(b, d.Seconds(), 'g', -1, 64) }
	b = append(b, `,"ttfts":[`...)
	for i := range o.Records {
		if i > 0 {
			b = append(b, ',')
		}
		r := &o.Records[i]
		if r.OK() {
			b = secs(b, r.TTFT())
		} else {
			b = append(b, '0')
		}
	}
	b = append(b, `],"itls":[`...)
	for i := range o.Records {
		if i > 0 {
			b = append(b, ',')
		}
		r := &o.Records[i]
		b = append(b, '[')
		for j := 1; r.OK() && j < len(r.Chunks); j++ {
			if j > 1 {
				b = append(b, ',')
			}
			b = secs(b, r.Chunks[j].At-r.Chunks[j-1].At)
		}
		b = append(b, ']')
	}
	b = append(b, `],"request_errors":[`...)
	for i := range o.Records {
		if i > 0 {
			b = append(b, ',')
		}
		r := &o.Records[i]
		msg := r.Error
		if msg == "" && !r.OK() {
			msg = "no content chunk received"
		}
		b = appendJSONString(b, msg)
	}
	return append(b, "]}"...)
}

// Paths are the files WriteResults wrote.
type Paths struct {
	Raw      string // <dir>/<filename>
	Requests string // <dir>/<stem>.requests.jsonl
}

// WriteResults writes the raw result JSON to dir/filename (".json" added when filename has
// no extension) and the per-request records next to it as <stem>.requests.jsonl. Both are
// written to a temporary name first and renamed, so a reader never sees half a file.
func WriteResults(dir, filename string, o *Outcome) (Paths, error) {
	if filepath.Ext(filename) == "" {
		filename += ".json"
	}
	stem := strings.TrimSuffix(filename, filepath.Ext(filename))
	p := Paths{Raw: filepath.Join(dir, filename), Requests: filepath.Join(dir, stem+".requests.jsonl")}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return p, fmt.Errorf("creating result directory: %w", err)
	}
	if err := writeAtomic(p.Requests, o.writeJSONL); err != nil {
		return p, err
	}
	raw, err := o.MarshalRaw(nil, filepath.Base(p.Requests))
	if err != nil {
		return p, err
	}
	err = writeAtomic(p.Raw, func(w *bufio.Writer) error { _, err := w.Write(raw); return err })
	return p, err
}

// writeJSONL writes one line per measured request.
func (o *Outcome) writeJSONL(w *bufio.Writer) error {
	var b []byte
	for i := range o.Records {
		b = o.Records[i].appendJSON(b[:0])
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func writeAtomic(path string, fill func(*bufio.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	err = fill(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

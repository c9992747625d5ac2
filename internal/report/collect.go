package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/result"
)

// Problem is a file of the sweep that could not be used, and why.
type Problem struct {
	Path string
	Msg  string
}

func (p Problem) String() string { return p.Path + ": " + p.Msg }

// Sweep is everything Scan found under a sweep directory.
type Sweep struct {
	Records  []Record // agg records, in walk (lexical path) order
	Statuses []Status // per-point status records, for the success rate
	// Problems lists files that look like results but could not be read: never dropped
	// without a word.
	Problems []Problem
	// Ignored counts JSON files that are knowingly not results (raw client JSON, eval
	// files, earlier aggregate outputs), by kind, so the summary line can say so.
	Ignored map[string]int
	// FailedPoints are agg records whose own status record says the point failed (the load
	// missed its bar, the engine died, the run was cancelled): `agent run` still writes
	// their numbers for diagnosis, but they are not results and stay out of Records.
	FailedPoints []Record

	seenStatus map[string]bool
}

// addStatus keeps one copy of a status record that was uploaded twice (say, in two
// artifacts of the same job), so an attempt is never counted twice; a retried point has
// another start time and counts again.
func (s *Sweep) addStatus(st Status) {
	key := fmt.Sprintf("%s|%s|%d|%s|%s", st.ResultFilename, st.HW, st.Conc, st.Started.UTC().Format(time.RFC3339Nano), st.Status)
	if s.seenStatus == nil {
		s.seenStatus = map[string]bool{}
	}
	if st.ResultFilename != "" && s.seenStatus[key] {
		s.Ignored["duplicate status records"]++
		return
	}
	s.seenStatus[key] = true
	s.Statuses = append(s.Statuses, st)
}

// outputNames are the files collect itself writes; a rerun over a directory that holds
// them must not read them back as results.
var outputNames = map[string]bool{
	"agg_bmk.json": true, "agg_eval_all.json": true, "run_stats.json": true,
}

// Scan reads every JSON file under root (a directory of downloaded artifacts, one
// sub-directory per artifact, or any nesting of them) and classifies it. Only I/O errors
// on root itself are returned as an error; everything else ends up in Sweep.Problems.
func Scan(fsys fs.FS, root string) (*Sweep, error) {
	s := &Sweep{Ignored: map[string]int{}}
	if _, err := fs.Stat(fsys, root); err != nil {
		return nil, fmt.Errorf("read sweep directory: %w", err)
	}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		rel := relPath(root, p)
		if err != nil {
			s.Problems = append(s.Problems, Problem{rel, "cannot read: " + err.Error()})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".json") {
			return nil
		}
		if outputNames[d.Name()] {
			s.Ignored["earlier collect outputs"]++
			return nil
		}
		if info, err := d.Info(); err == nil && info.Size() > MaxFileSize {
			if looksLikeResult(d.Name()) || isStatusName(d.Name()) {
				s.Problems = append(s.Problems, Problem{rel, fmt.Sprintf("%d bytes, more than the %d an agg or status record can need (a few KB): not read", info.Size(), MaxFileSize)})
			} else {
				s.Ignored["JSON files too large to be results, not read"]++
			}
			return nil
		}
		data, err := readBounded(fsys, p)
		if err != nil {
			s.Problems = append(s.Problems, Problem{rel, "cannot read: " + err.Error()})
			return nil
		}
		s.classify(rel, d.Name(), data)
		return nil
	})
	s.dropFailedPoints()
	return s, err
}

// MaxFileSize bounds what Scan reads of one file: agg and status records are a few KB, and
// decoding a huge file into generic JSON costs many times its size in memory.
const MaxFileSize = 16 << 20

// readBounded reads a file, failing past MaxFileSize (a file that grew after the walk).
func readBounded(fsys fs.FS, p string) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err == nil && len(b) > MaxFileSize {
		return nil, fmt.Errorf("more than %d bytes", MaxFileSize)
	}
	return b, err
}

// dropFailedPoints moves the agg records of failed points out of Records. A point is
// failed when its latest status record (matched on the stem: agg_<stem>.json and
// manifest_<stem>.json) is neither a success nor eval_failed: an eval below its threshold
// says nothing against the throughput numbers.
func (s *Sweep) dropFailedPoints() {
	latest := map[string]Status{}
	for _, st := range s.Statuses {
		if prev, ok := latest[st.ResultFilename]; !ok || st.Started.After(prev.Started) {
			latest[st.ResultFilename] = st
		}
	}
	kept := s.Records[:0]
	for _, r := range s.Records {
		stem := strings.TrimSuffix(strings.TrimPrefix(path.Base(r.Source), "agg_"), ".json")
		st, ok := latest[stem]
		if ok && !st.OK() && st.Status != result.StatusEvalFailed {
			s.FailedPoints = append(s.FailedPoints, r)
			continue
		}
		kept = append(kept, r)
	}
	s.Records = kept
}

func relPath(root, p string) string {
	if root == "." || root == "" {
		return p
	}
	r := strings.TrimPrefix(p, strings.TrimSuffix(root, "/")+"/")
	if r == p && p == root {
		return path.Base(p)
	}
	return r
}

// classify decides what one JSON file is. Files named like results (agg_*.json) that do not
// parse are problems; other JSON that is not ours is counted as ignored.
func (s *Sweep) classify(rel, name string, data []byte) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		if looksLikeResult(name) || isStatusName(name) {
			s.Problems = append(s.Problems, Problem{rel, describeJSONError(data, err)})
		} else {
			s.Ignored["other JSON files"]++
		}
		return
	}
	switch {
	case IsAggRecord(obj):
		r, err := DecodeRecord(data, rel)
		if err != nil {
			s.Problems = append(s.Problems, Problem{rel, err.Error()})
			return
		}
		s.Records = append(s.Records, r)
	case isStatusObject(obj) || isStatusName(name):
		st, err := DecodeStatus(data, rel)
		if err != nil {
			s.Problems = append(s.Problems, Problem{rel, err.Error()})
			return
		}
		s.addStatus(st)
	case looksLikeResult(name):
		s.Problems = append(s.Problems, Problem{rel, "named like an agg record but lacks hw and tput_per_gpu; was it written by process_result or agent run?"})
	case obj["lm_eval_version"] != nil || name == "meta_env.json":
		s.Ignored["eval files"]++
	case obj["max_concurrency"] != nil && obj["model_id"] != nil:
		s.Ignored["raw client results"]++
	default:
		s.Ignored["other JSON files"]++
	}
}

func looksLikeResult(name string) bool {
	return strings.HasPrefix(name, "agg_") && strings.HasSuffix(name, ".json")
}

// describeJSONError says where a file stops being JSON, which for a truncated upload is
// the most useful thing to know.
func describeJSONError(data []byte, err error) string {
	if len(bytes.TrimSpace(data)) == 0 {
		return "empty file (truncated upload or a job killed while writing?)"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		return fmt.Sprintf("invalid JSON at line %d (byte %d): %v", line, se.Offset, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected end") {
		return "JSON ends early (truncated file?)"
	}
	return "not a JSON object: " + err.Error()
}

// WriteAggJSON writes records as the reference's agg_bmk.json: a JSON array of the records
// as they were read, indented by 2.
func WriteAggJSON(w io.Writer, records []Record) error {
	var buf bytes.Buffer
	buf.WriteString("[")
	for i, r := range records {
		if i > 0 {
			buf.WriteString(",")
		}
		buf.WriteString("\n  ")
		if err := json.Indent(&buf, r.Raw, "  ", "  "); err != nil {
			return fmt.Errorf("%s: %w", r.Source, err)
		}
	}
	if len(records) > 0 {
		buf.WriteString("\n")
	}
	buf.WriteString("]\n")
	_, err := w.Write(buf.Bytes())
	return err
}

// SummaryLine describes what Scan found in one line for the terminal.
func (s *Sweep) SummaryLine() string {
	parts := []string{fmt.Sprintf("%d results", len(s.Records)), fmt.Sprintf("%d status records", len(s.Statuses))}
	kinds := make([]string, 0, len(s.Ignored))
	for k := range s.Ignored {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("ignored %d %s", s.Ignored[k], k))
	}
	if len(s.FailedPoints) > 0 {
		noun := "results"
		if len(s.FailedPoints) == 1 {
			noun = "result"
		}
		parts = append(parts, fmt.Sprintf("left out %d %s of failed points", len(s.FailedPoints), noun))
	}
	if len(s.Problems) > 0 {
		parts = append(parts, fmt.Sprintf("%d unreadable or partial", len(s.Problems)))
	}
	return strings.Join(parts, ", ")
}

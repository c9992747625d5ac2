package loadgen

import "bytes"

// chunkInfo is what the client needs from one streamed JSON object. Parsing it with
// encoding/json would cost more CPU than everything else per chunk, so scanChunk looks for
// the few keys by hand. Quotes inside JSON strings are always escaped, so a key pattern
// such as `"usage":` cannot match inside generated text.
type chunkInfo struct {
	choices          bool // non-empty "choices" array: a content chunk
	usage            bool // a non-null "usage" object
	completionTokens int
	promptTokens     int
	errMsg           []byte // an {"error": ...} object's message (or the whole object)
	finished         bool   // a choice carries a finish_reason (the last content chunk)
}

var (
	keyChoices    = []byte(`"choices"`)
	keyUsage      = []byte(`"usage"`)
	keyCompletion = []byte(`"completion_tokens"`)
	keyPrompt     = []byte(`"prompt_tokens"`)
	keyError      = []byte(`"error"`)
	keyObject     = []byte(`"object"`)
	keyMessage    = []byte(`"message"`)
	keyFinish     = []byte(`"finish_reason"`)
)

func scanChunk(data []byte) chunkInfo {
	var ci chunkInfo
	if rest := valueOf(data, keyChoices); len(rest) > 0 && rest[0] == '[' {
		rest = skipSpace(rest[1:])
		ci.choices = len(rest) > 0 && rest[0] != ']'
	}
	if ci.choices {
		rest := valueOf(data, keyFinish)
		ci.finished = len(rest) > 0 && rest[0] == '"'
	}
	if rest := valueOf(data, keyUsage); len(rest) > 0 && rest[0] == '{' {
		ci.usage = true
		ci.completionTokens, _ = intAfter(rest, keyCompletion)
		ci.promptTokens, _ = intAfter(rest, keyPrompt)
	}
	if !ci.choices && !ci.usage {
		v := valueOf(data, keyError)
		if v == nil {
			if o := valueOf(data, keyObject); bytes.HasPrefix(o, []byte(`"error"`)) {
				v = data
			}
		}
		if v != nil {
			ci.errMsg = data
			if m, ok := stringAfter(v, keyMessage); ok {
				ci.errMsg = m
			}
		}
	}
	return ci
}

// valueOf returns the bytes after `key` followed by optional spaces and a colon (and the
// spaces after it), or nil. A key-shaped string value ("text":"usage") is skipped because
// no colon follows it.
func valueOf(b, key []byte) []byte {
	for {
		i := bytes.Index(b, key)
		if i < 0 {
			return nil
		}
		rest := skipSpace(b[i+len(key):])
		if len(rest) > 0 && rest[0] == ':' {
			return skipSpace(rest[1:])
		}
		b = b[i+len(key):]
	}
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

// intAfter parses the non-negative integer value of key in b.
func intAfter(b, key []byte) (int, bool) {
	rest := valueOf(b, key)
	n, digits := 0, 0
	for _, c := range rest {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
		digits++
	}
	return n, digits > 0
}

// stringAfter returns the raw (still escaped) JSON string value of key in b.
func stringAfter(b, key []byte) ([]byte, bool) {
	rest := valueOf(b, key)
	if len(rest) == 0 || rest[0] != '"' {
		return nil, false
	}
	for j := 1; j < len(rest); j++ {
		switch rest[j] {
		case '\\':
			j++
		case '"':
			return rest[1:j], true
		}
	}
	return nil, false
}

package newman

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Prepare returns a copy of a Postman collection without its top-level items named drop, and how many it removed.
// Microsoft's collection starts with a "Get Token" folder that asks the reference server for a token and overwrites
// the token variable with the answer, after which every request fails with 401; a run against another server must
// drop it. The other top-level members keep their order, and the items are copied byte for byte.
func Prepare(collection []byte, drop string) ([]byte, int, error) {
	dec := json.NewDecoder(bytes.NewReader(collection))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, 0, errors.New("newman: prepare: collection is not a JSON object")
	}
	var out bytes.Buffer
	out.WriteByte('{')
	removed, members := 0, 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, 0, fmt.Errorf("newman: prepare: %w", err)
		}
		key, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, 0, fmt.Errorf("newman: prepare: member %q: %w", key, err)
		}
		if key == "item" {
			if value, removed, err = dropItems(value, drop); err != nil {
				return nil, 0, err
			}
		}
		if members > 0 {
			out.WriteByte(',')
		}
		members++
		k, _ := json.Marshal(key)
		out.Write(k)
		out.WriteByte(':')
		out.Write(value)
	}
	if _, err := dec.Token(); err != nil {
		return nil, 0, fmt.Errorf("newman: prepare: %w", err)
	}
	out.WriteByte('}')
	var indented bytes.Buffer
	if err := json.Indent(&indented, out.Bytes(), "", "\t"); err != nil {
		return nil, 0, fmt.Errorf("newman: prepare: %w", err)
	}
	indented.WriteByte('\n')
	return indented.Bytes(), removed, nil
}

func dropItems(raw json.RawMessage, drop string) (json.RawMessage, int, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, 0, fmt.Errorf("newman: prepare: item is not a list: %w", err)
	}
	kept := items[:0]
	removed := 0
	for _, it := range items {
		var head struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(it, &head); err != nil {
			return nil, 0, fmt.Errorf("newman: prepare: item: %w", err)
		}
		if head.Name == drop {
			removed++
			continue
		}
		kept = append(kept, it)
	}
	b, err := json.Marshal(kept)
	if err != nil {
		return nil, 0, fmt.Errorf("newman: prepare: %w", err)
	}
	return b, removed, nil
}

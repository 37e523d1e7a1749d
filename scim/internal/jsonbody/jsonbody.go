// Package jsonbody decodes a request body that must be exactly one JSON document, for scim (POST, PUT, .search
// bodies) and scim/patch (PATCH bodies) alike.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
)

// ErrTrailingData is Decode's error for a body that goes on after its document.
var ErrTrailingData = errors.New("data after the JSON document")

// Decode decodes body, keeping numbers exact (json.Number). Only the whitespace RFC 8259 §2 allows may follow the
// document: a plain json.Decoder would read `{…}{…}` or `{…}]` as its first document and drop the rest.
func Decode(body []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if len(bytes.TrimLeft(body[d.InputOffset():], " \t\r\n")) > 0 {
		return nil, ErrTrailingData
	}
	return v, nil
}

package jsonbody

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestDecodeRefusesAnythingAfterTheDocument(t *testing.T) {
	for _, body := range []string{`{}{}`, `{} x`, `{}]`, `{}}`, `[] ,`} {
		if _, err := Decode([]byte(body)); !errors.Is(err, ErrTrailingData) {
			t.Errorf("Decode(%q) = %v, want ErrTrailingData", body, err)
		}
	}
	for _, body := range []string{``, `{`, `{"a":}`} {
		if _, err := Decode([]byte(body)); err == nil || errors.Is(err, ErrTrailingData) {
			t.Errorf("Decode(%q) = %v, want a syntax error", body, err)
		}
	}
}

func TestDecodeKeepsNumbersExactAndAllowsSurroundingSpace(t *testing.T) {
	v, err := Decode([]byte(" \t{\"n\": 12345678901234567890}\r\n "))
	if err != nil {
		t.Fatal(err)
	}
	if n := v.(map[string]any)["n"]; n != json.Number("12345678901234567890") {
		t.Errorf("n = %#v, want the exact json.Number", n)
	}
}

package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tracklink/tracklink"
)

// maxTicketTypeLen bounds a line's ticket type. It is optional and never
// stored, so a longer one is dropped rather than failing the order.
const maxTicketTypeLen = 100

// lineList is a JSON array of ticket lines that stops reading at
// tracklink.MaxLines + 1 entries, so a signed but hostile body cannot make
// the receiver build a huge slice before Order.Validate rejects it.
type lineList []tracklink.Line

var errTooManyLines = fmt.Errorf("an order has at most %d lines", tracklink.MaxLines)

// UnmarshalJSON reads the array one line at a time.
func (l *lineList) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*l = nil
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return errors.New("lines must be an array")
	}
	out := make(lineList, 0, 4)
	for dec.More() {
		if len(out) == tracklink.MaxLines {
			return errTooManyLines
		}
		var w struct {
			Kind       *string `json:"kind"`
			TicketType string  `json:"ticket_type"`
			Quantity   *int    `json:"quantity"`
			UnitAmount *int64  `json:"unit_amount"`
		}
		if err := dec.Decode(&w); err != nil {
			return fmt.Errorf("line %d: %w", len(out), err)
		}
		switch {
		case w.Kind == nil:
			return fmt.Errorf("line %d: kind is required", len(out))
		case w.Quantity == nil:
			return fmt.Errorf("line %d: quantity is required", len(out))
		case w.UnitAmount == nil:
			return fmt.Errorf("line %d: unit_amount is required", len(out))
		}
		if len(w.TicketType) > maxTicketTypeLen {
			w.TicketType = ""
		}
		out = append(out, tracklink.Line{
			Kind:       tracklink.LineKind(*w.Kind),
			TicketType: w.TicketType,
			Quantity:   *w.Quantity,
			UnitAmount: *w.UnitAmount,
		})
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	*l = out
	return nil
}

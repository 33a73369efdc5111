package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/tracklink/tracklink"
)

// PartialRefund is not supported by this store version.
func (s *Store) PartialRefund(ctx context.Context, r tracklink.Refund) (tracklink.RefundRecord, error) {
	return tracklink.RefundRecord{}, fmt.Errorf("redisstore: partial refund: %w", errors.ErrUnsupported)
}

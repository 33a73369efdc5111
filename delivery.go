package tracklink

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"
)

// MaxDeliveryTokenLen bounds a delivery token (WithDelivery), in bytes.
const MaxDeliveryTokenLen = 64

// DefaultHookLease is how long a delivery holds an outbox entry it claimed
// (Ledger.ClaimHook) before another delivery may run the hook: longer than
// a hook should take, short enough that a crash delays it little.
const DefaultHookLease = 30 * time.Second

type deliveryKey struct{}

// WithDelivery returns a context whose Ledger.Record and Ledger.Refund
// calls carry token, the identity of one delivery attempt: a retry of the
// same call (by the client library, or by the caller after a lost reply)
// passes the same context and so is told it applied, rather than that it
// was a duplicate. See Ledger. Give each delivery its own token
// (NewDeliveryToken); webhook.Handler does.
func WithDelivery(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, deliveryKey{}, token)
}

// DeliveryToken returns the token WithDelivery put in ctx, "" when there
// is none or it is not 1 to MaxDeliveryTokenLen printable bytes.
func DeliveryToken(ctx context.Context) string {
	t, _ := ctx.Value(deliveryKey{}).(string)
	if t == "" || len(t) > MaxDeliveryTokenLen || !printable(t) {
		return ""
	}
	return t
}

// DeliveryTokenOr returns DeliveryToken(ctx), or a new random token when
// ctx has none: what a Ledger keeps with a claim.
func DeliveryTokenOr(ctx context.Context) string {
	if t := DeliveryToken(ctx); t != "" {
		return t
	}
	return NewDeliveryToken()
}

// NewDeliveryToken returns a random token (128 bits, hex).
func NewDeliveryToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Package webhooktest signs webhook deliveries the way the payment
// providers do, so that a host's tests, demos and load tools can post
// orders to the webhook receiver without a real provider. Like
// net/http/httptest it does not import package testing, so programs may
// link it; production code never signs.
package webhooktest

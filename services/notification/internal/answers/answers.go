// Package answers keeps banks' standard answers (话术): reusable texts for
// the most frequent kinds of case that staff pick and adapt when they
// answer a customer. counterdesk ships a starter set in Chinese and English,
// one or more per kind of case; a bank adds its own, replaces a shipped
// entry (same id) or disables it. It declares the store it needs.
package answers

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Answer is one standard answer.
type Answer struct {
	ID       string `json:"id"`
	Category string `json:"category"` // a case category's enum name, e.g. CATEGORY_FEE_DISPUTE
	Language string `json:"language"` // zh-CN or en
	Title    string `json:"title"`
	Body     string `json:"body"`
	// Shipped: from the starter set, not the bank's own.
	Shipped   bool      `json:"-"`
	UpdatedBy string    `json:"-"`
	UpdatedAt time.Time `json:"-"`
}

// Entry is what a bank keeps: its own answer, its replacement of a shipped
// one, or a shipped one it disabled (Disabled, no text).
type Entry struct {
	Answer
	Disabled bool
}

// Store keeps banks' entries.
type Store interface {
	Entries(ctx context.Context, tenantID string) ([]Entry, error)
	Put(ctx context.Context, tenantID string, e Entry) error
	// Delete removes the bank's entry and reports whether there was one.
	Delete(ctx context.Context, tenantID, id string) (bool, error)
}

// Errors.
var (
	// ErrInvalid: an answer that cannot be kept; the message names the field.
	ErrInvalid = errors.New("invalid standard answer")
	// ErrNotFound: no such answer for the bank.
	ErrNotFound = errors.New("no such standard answer")
)

//go:embed starter.json
var starterJSON []byte

// Starter is the shipped starter set, by id.
var Starter = sync.OnceValue(func() []Answer {
	var out []Answer
	if err := json.Unmarshal(starterJSON, &out); err != nil {
		panic(fmt.Sprintf("answers: starter.json: %v", err)) // a build error
	}
	for i := range out {
		out[i].Shipped = true
	}
	return out
})

func starterByID(id string) (Answer, bool) {
	for _, a := range Starter() {
		if a.ID == id {
			return a, true
		}
	}
	return Answer{}, false
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,63}$`)

// Validate reports the first field of a that cannot be kept.
func Validate(a Answer, categories []string) error {
	switch {
	case !idPattern.MatchString(a.ID):
		return fmt.Errorf("%w: id: 3–64 lower-case letters, digits and '-'", ErrInvalid)
	case a.Category == "" || a.Category == "CATEGORY_UNSPECIFIED" || (categories != nil && !slices.Contains(categories, a.Category)):
		return fmt.Errorf("%w: category: %q is not a kind of case", ErrInvalid, a.Category)
	case a.Language != "zh-CN" && a.Language != "en":
		return fmt.Errorf("%w: language: zh-CN or en", ErrInvalid)
	case strings.TrimSpace(a.Title) == "" || utf8.RuneCountInString(a.Title) > 100 || strings.ContainsAny(a.Title, "\r\n"):
		return fmt.Errorf("%w: title: one line of 1–100 characters", ErrInvalid)
	case strings.TrimSpace(a.Body) == "" || utf8.RuneCountInString(a.Body) > 4000:
		return fmt.Errorf("%w: body: 1–4000 characters", ErrInvalid)
	}
	return nil
}

// Merge is what a bank sees: the starter set less what it disabled, with
// its replacements in place, then its own entries; filtered by category
// and language when given, ordered by category then id.
func Merge(entries []Entry, category, language string) []Answer {
	byID := map[string]Entry{}
	for _, e := range entries {
		byID[e.ID] = e
	}
	var out []Answer
	for _, a := range Starter() {
		if e, ok := byID[a.ID]; ok {
			delete(byID, a.ID)
			if e.Disabled {
				continue
			}
			a = e.Answer
		}
		out = append(out, a)
	}
	for _, e := range byID {
		if !e.Disabled {
			out = append(out, e.Answer)
		}
	}
	out = slices.DeleteFunc(out, func(a Answer) bool {
		return (category != "" && a.Category != category) || (language != "" && a.Language != language)
	})
	slices.SortFunc(out, func(a, b Answer) int {
		if c := strings.Compare(a.Category, b.Category); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Service is the bank-facing logic over a Store.
type Service struct {
	Store Store
	// Categories are the case categories an answer may be for (nil: any
	// non-empty name).
	Categories []string
}

// List returns the bank's answers (see Merge).
func (s Service) List(ctx context.Context, tenantID, category, language string) ([]Answer, error) {
	es, err := s.Store.Entries(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return Merge(es, category, language), nil
}

// Put keeps a as the bank's (a new id, or a shipped id it replaces).
func (s Service) Put(ctx context.Context, tenantID string, a Answer, by string, now time.Time) (Answer, error) {
	a.Title, a.Body = strings.TrimSpace(a.Title), strings.TrimSpace(a.Body)
	if err := Validate(a, s.Categories); err != nil {
		return Answer{}, err
	}
	a.Shipped, a.UpdatedBy, a.UpdatedAt = false, by, now
	if err := s.Store.Put(ctx, tenantID, Entry{Answer: a}); err != nil {
		return Answer{}, err
	}
	return a, nil
}

// Delete removes the bank's own answer id; a shipped id (replaced or not)
// is disabled for the bank. ErrNotFound when the bank sees no such answer.
func (s Service) Delete(ctx context.Context, tenantID, id, by string, now time.Time) error {
	if shipped, ok := starterByID(id); ok {
		return s.Store.Put(ctx, tenantID, Entry{Answer: Answer{ID: id, Category: shipped.Category, Language: shipped.Language,
			UpdatedBy: by, UpdatedAt: now}, Disabled: true})
	}
	found, err := s.Store.Delete(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if !found {
		return ErrNotFound
	}
	return nil
}

package pii

import (
	"strings"
	"unicode/utf8"
)

// Free text (case summaries, descriptions, notes, answers, comments) carries
// what customers say, personal numbers included. FindPersonalNumbers finds
// the ones it recognises, and MaskFreeText masks them in the same style as
// the structured fields so that a masked note looks like a masked record.
//
// # What counts as a number
//
// A number is made of digit groups: maximal runs of ASCII digits or
// full-width digits (０-９, as typed with a Chinese IME in full-width mode).
// Groups may be joined into one number by exactly one separator between
// them: a space, a dash, a no-break space, an ideographic space (U+3000) or a
// full-width dash (－). A number must be delimited: the character before it
// and the one after it may not be a digit or a Latin letter (ASCII or
// full-width), so "订单号A12345678901234567" is not a number while
// "客户王先生13812345678来电" is (Chinese characters, punctuation, '*' and
// the start or end of the text all delimit). Within a run of joined groups,
// numbers are taken greedily from the left, the longest layout first, so a
// mobile number followed by a date or an amount is still found.
//
// The kinds, in the order they are tried (a mobile with a country prefix
// first of all):
//
//   - KindIDNumber, mainland resident ID. 18 characters: 17 digits and a
//     check character (a digit or X/x, ASCII or full-width) that is the
//     ISO 7064 MOD 11-2 check of the 17, with a real calendar birth date
//     YYYYMMDD in characters 7-14 and a year from 1900 to 2099. Written as
//     one run or grouped 6-8-4 ("110101 19900307 1233"). A number with a
//     valid birth date but a wrong check character is an ID only when an ID
//     keyword (身份证, 证件, 身份号, ID — the Latin keyword a whole word)
//     ends at most 12 characters before it, with no digit in between:
//     staff mistype check digits, and a mistyped ID is still personal data.
//     Otherwise it is not an ID (it may still be a card or an account
//     below). The old 15-digit form is an ID when its YYMMDD date
//     (characters 7-12, read as 19YY) is a real date; it is tried after
//     mobiles, so 0086 + a mobile stays a mobile.
//   - KindMobile, mainland mobile. 11 digits 1[3-9]xxxxxxxxx, as one run or
//     grouped 3-4-4 with one kind of separator ("138 1234 5678",
//     "138-1234-5678"), optionally after a country prefix +86, 86 or 0086,
//     either glued on ("+8613812345678") or followed by one separator
//     ("+86 138-1234-5678"). The prefix is part of the span.
//   - KindCard, bank card. 13-19 digits that pass the Luhn check, as one run
//     or grouped in 4s with one kind of separator (the last group 1-4
//     digits: "6222 0212 3456 7890 123") or 4-6-5 (American Express). A
//     16-19 digit run, or any grouped layout, is a card with no keyword; a
//     13-15 digit single run (millisecond timestamps, serial numbers are
//     that long too) is a card only after an account keyword (below).
//   - KindAccount, account number. 10-25 digits, as one run or grouped in
//     4s, that are not a card, after an account keyword: 账号, 账户, 帐号,
//     帐户, 卡号, 户号, 收款账号, 付款账号, 银行卡, 信用卡, 借记卡,
//     account, acct, a/c, card (Latin keywords case-insensitive, whole
//     words, plural s allowed) ending at most 12 characters before the number,
//     with no digit in between. A number that reads as an amount is not an
//     account: one preceded by ¥, ￥, $, RMB, CNY, USD or HKD, followed by
//     元, 万, 亿, 块, 圆, 角, yuan, RMB, CNY, USD or HKD (a space may come
//     in between), or part of a decimal or thousands-separated number. Nor
//     is a 12- or 14-digit timestamp YYYYMMDDhhmm[ss] with a real date and
//     time.
//
// Everything else is left alone: amounts ("30万元", "300000元",
// "¥1,234.56"), dates and times ("2026-11-23", "20261123", "14:30"), case
// numbers ("CD-20261122-000042"), and digit runs too short or too long for
// any kind.
//
// # How numbers are masked
//
// Only the number's own digits (and an ID's X) change, each to one '*';
// separators, a +86 prefix and all other text are kept as they are. So the
// text keeps its length in characters and its layout, and the masked digits
// are the ones the structured fields mask:
//
//   - ID numbers as MaskID: the first 3 and last 4 characters kept,
//     "110***********1233";
//   - mobiles as MaskPhone: the first 3 and last 4 digits kept,
//     "138****5678", "138-****-5678", "+86 138****5678";
//   - cards and accounts as MaskAccount: only the last 4 digits kept, like
//     a card receipt, "**** **** **** 1111", "************7890".
//
// Output never holds a recognisable personal number: the kept digits of a
// masked grouped number can, rarely, run on into neighbouring digit groups
// and read as a new number, so MaskFreeText scans its result again until it
// finds nothing (after 8 passes, which only crafted text needs, it masks every
// digit instead). Masking is therefore idempotent.
//
// Offsets are byte offsets into the string and always fall on rune
// boundaries; invalid UTF-8 passes through untouched.

// Kind is the sort of personal number a Span holds.
type Kind int

// The kinds of personal number FindPersonalNumbers recognises.
const (
	KindIDNumber Kind = iota + 1 // mainland resident ID number (18 or old 15 digits)
	KindMobile                   // mainland mobile number
	KindCard                     // bank card number (Luhn-checked)
	KindAccount                  // account number next to an account keyword
)

// String names the kind for logs and tests.
func (k Kind) String() string {
	switch k {
	case KindIDNumber:
		return "id_number"
	case KindMobile:
		return "mobile"
	case KindCard:
		return "card"
	case KindAccount:
		return "account"
	default:
		return "unknown"
	}
}

// Span is one personal number found in a text: s[Start:End], byte offsets.
type Span struct {
	Start, End int
	Kind       Kind
}

// FindPersonalNumbers returns the personal numbers recognised in s, in order
// and not overlapping; nil when there are none. The rules are in the comment
// at the top of this file.
func FindPersonalNumbers(s string) []Span {
	ms := findMatches(s, false)
	if len(ms) == 0 {
		return nil
	}
	spans := make([]Span, len(ms))
	for i, m := range ms {
		spans[i] = Span{Start: m.start, End: m.end, Kind: m.kind}
	}
	return spans
}

// ContainsPersonalNumber reports whether s holds a number FindPersonalNumbers
// would return.
func ContainsPersonalNumber(s string) bool { return len(findMatches(s, true)) > 0 }

// MaskFreeText returns s with every recognised personal number masked; s
// itself when it holds none.
func MaskFreeText(s string) string {
	out := s
	for range maxMaskPasses {
		ms := findMatches(out, false)
		if len(ms) == 0 {
			return out
		}
		out = applyMasks(out, ms)
	}
	if !ContainsPersonalNumber(out) {
		return out
	}
	// Only text built to chain run-on numbers gets here: fail closed.
	return maskAllDigits(out)
}

// maxMaskPasses bounds MaskFreeText's scans. Real text needs one pass and
// rarely two (a masked number's kept digits running on into the next digit
// groups); text that still holds a number after this many passes has every
// digit masked, so a crafted text cannot make masking quadratic.
var maxMaskPasses = 8

func maskAllDigits(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if digitValue(r) >= 0 {
			b.WriteByte('*')
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

const (
	keywordGap   = 12 // characters allowed between a keyword and its number
	maxDigits    = 29 // longest number considered: 25-digit account, or 0086 + mobile
	maxSubGroups = 7  // most groups one number can have: 25 digits in 4s
)

var (
	accountKeywords = []string{
		"收款账号", "付款账号", "账号", "账户", "帐号", "帐户", "卡号", "户号",
		"银行卡", "信用卡", "借记卡", "account", "acct", "a/c", "card",
	}
	idKeywords = []string{"身份证", "证件", "身份号", "id"}

	currencyBefore = []string{"rmb", "cny", "usd", "hkd"}
	currencyAfter  = []string{"yuan", "rmb", "cny", "usd", "hkd"}
)

// match is one recognised number: s[start:end] is the whole span, s[num:end]
// the number itself (after any country prefix).
type match struct {
	start, num, end int
	kind            Kind
}

// group is one run of digits, with an ID's trailing X when there is one.
type group struct {
	start, end  int    // byte offsets
	chars       string // ASCII digits, plus 'X' for a trailing check character
	left, right bool   // delimited on that side
	sep         rune   // separator joining it to the next group, 0 if none
	plus        int    // offset of a delimited '+' right before it, -1 if none
}

func findMatches(s string, first bool) []match {
	gs := scanGroups(s)
	var ms []match
	for a := 0; a < len(gs); {
		b := a + 1
		for b < len(gs) && gs[b-1].sep != 0 {
			b++
		}
		for i := a; i < b; {
			m, n, ok := longestAt(s, gs[i:b])
			if !ok {
				i++
				continue
			}
			ms = append(ms, m)
			if first {
				return ms
			}
			i += n
		}
		a = b
	}
	return ms
}

// longestAt returns the longest number starting at g[0] and how many groups
// it spans.
func longestAt(s string, g []group) (match, int, bool) {
	if !g[0].left {
		return match{}, 0, false
	}
	n := min(len(g), maxSubGroups)
	total := 0
	for k := range n {
		total += len(g[k].chars)
		if total > maxDigits {
			n = k
			break
		}
	}
	for k := n; k >= 1; k-- {
		if !g[k-1].right {
			continue
		}
		if m, ok := classify(s, g[:k]); ok {
			return m, k, true
		}
	}
	return match{}, 0, false
}

// classify decides whether the groups g, taken together, are one number.
func classify(s string, g []group) (match, bool) {
	start, end := g[0].start, g[len(g)-1].end
	if m, ok := prefixedMobile(s, g); ok {
		return m, true
	}
	chars := g[0].chars
	if len(g) > 1 {
		var b strings.Builder
		for _, x := range g {
			b.WriteString(x.chars)
		}
		chars = b.String()
	}
	found := func(k Kind) (match, bool) { return match{start: start, num: start, end: end, kind: k}, true }

	if idLayout(g) {
		if validID18(chars) {
			return found(KindIDNumber)
		}
		if id18Shape(chars) && keywordBefore(s, start, idKeywords) {
			return found(KindIDNumber)
		}
	}
	if strings.IndexByte(chars, 'X') >= 0 {
		return match{}, false
	}
	if (len(g) == 1 || layoutIs(g, 3, 4, 4)) && isMobile(chars) {
		return found(KindMobile)
	}
	if len(g) == 1 && validID15(chars) {
		return found(KindIDNumber)
	}
	inFours := len(g) > 1 && groupedInFours(g)
	grouped := inFours || layoutIs(g, 4, 6, 5)
	if (len(g) == 1 || grouped) && len(chars) >= 13 && len(chars) <= 19 && luhn(chars) &&
		(len(chars) >= 16 || grouped || keywordBefore(s, start, accountKeywords)) {
		return found(KindCard)
	}
	if (len(g) == 1 || inFours) && len(chars) >= 10 && len(chars) <= 25 &&
		keywordBefore(s, start, accountKeywords) && !amountContext(s, start, end) && !isTimestamp(chars) {
		return found(KindAccount)
	}
	return match{}, false
}

// prefixedMobile recognises a mobile number after +86, 86 or 0086.
func prefixedMobile(s string, g []group) (match, bool) {
	first := g[0]
	start := first.start
	if first.plus >= 0 {
		start = first.plus
	}
	switch len(g) {
	case 1:
		for _, p := range []string{"86", "0086"} {
			if len(first.chars) == len(p)+11 && strings.HasPrefix(first.chars, p) && isMobile(first.chars[len(p):]) {
				return match{start: start, num: skipRunes(s, first.start, len(p)), end: first.end, kind: KindMobile}, true
			}
		}
	case 2, 4:
		if first.chars != "86" && first.chars != "0086" {
			return match{}, false
		}
		rest := g[1:]
		if len(rest) == 3 && !layoutIs(rest, 3, 4, 4) {
			return match{}, false
		}
		var b strings.Builder
		for _, x := range rest {
			b.WriteString(x.chars)
		}
		if isMobile(b.String()) {
			return match{start: start, num: rest[0].start, end: rest[len(rest)-1].end, kind: KindMobile}, true
		}
	}
	return match{}, false
}

// idLayout: one 18-character run, or 6-8-4 with one kind of separator.
func idLayout(g []group) bool {
	if len(g) == 1 {
		return len(g[0].chars) == 18
	}
	return layoutIs(g, 6, 8, 4)
}

// layoutIs reports whether g has exactly these group lengths, joined by one
// kind of separator.
func layoutIs(g []group, lens ...int) bool {
	if len(g) != len(lens) {
		return false
	}
	for i, x := range g {
		if len(x.chars) != lens[i] || (i > 0 && g[i-1].sep != g[0].sep) {
			return false
		}
	}
	return true
}

// groupedInFours: groups of 4 digits, the last of 1-4, one kind of separator.
func groupedInFours(g []group) bool {
	for i, x := range g {
		n := len(x.chars)
		if (i < len(g)-1 && n != 4) || n < 1 || n > 4 || (i > 0 && g[i-1].sep != g[0].sep) {
			return false
		}
	}
	return true
}

func isMobile(d string) bool {
	return len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9' && allDigits(d)
}

// id18Shape: 17 digits, a digit or X, and a plausible birth date.
func id18Shape(c string) bool {
	if len(c) != 18 || !allDigits(c[:17]) || (c[17] != 'X' && !isASCIIDigit(c[17])) {
		return false
	}
	y := atoi(c[6:10])
	return y >= 1900 && y <= 2099 && validDate(y, atoi(c[10:12]), atoi(c[12:14]))
}

// validID18 adds the ISO 7064 MOD 11-2 check character to id18Shape.
func validID18(c string) bool {
	if !id18Shape(c) {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(c[i]-'0') * w
	}
	return c[17] == "10X98765432"[sum%11]
}

// validID15: the old form, 15 digits with a real YYMMDD (19YY) date.
func validID15(c string) bool {
	return len(c) == 15 && allDigits(c) && validDate(1900+atoi(c[6:8]), atoi(c[8:10]), atoi(c[10:12]))
}

// isTimestamp: YYYYMMDDhhmm or YYYYMMDDhhmmss, year 1900-2099.
func isTimestamp(c string) bool {
	if len(c) != 12 && len(c) != 14 {
		return false
	}
	y := atoi(c[:4])
	if y < 1900 || y > 2099 || !validDate(y, atoi(c[4:6]), atoi(c[6:8])) || atoi(c[8:10]) > 23 || atoi(c[10:12]) > 59 {
		return false
	}
	return len(c) == 12 || atoi(c[12:14]) <= 59
}

func validDate(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

func luhn(d string) bool {
	sum := 0
	for i := range len(d) {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// keywordBefore reports whether one of kws (lower case) ends at most
// keywordGap characters before offset p, with no digit in between. Latin
// keywords must be whole words (a plural s allowed).
func keywordBefore(s string, p int, kws []string) bool {
	q := p
	for n := 0; q > 0 && n < keywordGap+8; n++ {
		r, size := utf8.DecodeLastRuneInString(s[:q])
		if digitValue(r) >= 0 {
			break
		}
		q -= size
	}
	w := asciiLower(s[q:p])
	for _, kw := range kws {
		for off := 0; ; {
			i := strings.Index(w[off:], kw)
			if i < 0 {
				break
			}
			i += off
			off = i + 1
			if utf8.RuneCountInString(w[i+len(kw):]) > keywordGap {
				continue
			}
			if isASCIILetter(kw[0]) && !latinWord(s, q+i, q+i+len(kw)) {
				continue
			}
			return true
		}
	}
	return false
}

// latinWord reports whether s[i:j] is a whole word, or one with a plural s.
func latinWord(s string, i, j int) bool {
	if j < len(s) && (s[j] == 's' || s[j] == 'S') {
		j++
	}
	return (i == 0 || !isASCIILetter(s[i-1])) && (j == len(s) || !isASCIILetter(s[j]))
}

// amountContext reports whether s[start:end] reads as a sum of money or part
// of a decimal or thousands-separated number.
func amountContext(s string, start, end int) bool {
	// Before.
	r, size := utf8.DecodeLastRuneInString(s[:start])
	if r == '.' || r == ',' {
		if r2, _ := utf8.DecodeLastRuneInString(s[:start-size]); digitValue(r2) >= 0 {
			return true
		}
	}
	b := start
	if r == ' ' {
		b -= size
		r, _ = utf8.DecodeLastRuneInString(s[:b])
	}
	if r == '¥' || r == '￥' || r == '$' {
		return true
	}
	before := asciiLower(s[max(0, b-3):b])
	for _, c := range currencyBefore {
		if before == c {
			return true
		}
	}
	// After.
	r, size = utf8.DecodeRuneInString(s[end:])
	if r == '.' || r == ',' {
		if r2, _ := utf8.DecodeRuneInString(s[end+size:]); digitValue(r2) >= 0 {
			return true
		}
	}
	e := end
	if r == ' ' {
		e += size
		r, _ = utf8.DecodeRuneInString(s[e:])
	}
	if strings.ContainsRune("元万亿块圆角", r) {
		return true
	}
	after := asciiLower(s[e:min(len(s), e+4)])
	for _, c := range currencyAfter {
		if strings.HasPrefix(after, c) {
			return true
		}
	}
	return false
}

// scanGroups finds the digit groups of s and how they chain.
func scanGroups(s string) []group {
	var gs []group
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if digitValue(r) < 0 {
			i += size
			continue
		}
		start := i
		var b []byte
		for i < len(s) {
			r, size = utf8.DecodeRuneInString(s[i:])
			d := digitValue(r)
			if d < 0 {
				break
			}
			b = append(b, byte('0'+d))
			i += size
		}
		if r, size = utf8.DecodeRuneInString(s[i:]); i < len(s) && isX(r) {
			if nr, _ := utf8.DecodeRuneInString(s[i+size:]); i+size == len(s) || !joins(nr) {
				b = append(b, 'X')
				i += size
			}
		}
		g := group{start: start, end: i, chars: string(b), plus: -1}
		prev, psize := utf8.DecodeLastRuneInString(s[:start])
		g.left = start == 0 || !joins(prev)
		if prev == '+' || prev == '＋' {
			if pp, _ := utf8.DecodeLastRuneInString(s[:start-psize]); start-psize == 0 || !joins(pp) {
				g.plus = start - psize
			}
		}
		next, nsize := utf8.DecodeRuneInString(s[i:])
		g.right = i == len(s) || !joins(next)
		if isSeparator(next) {
			if nn, _ := utf8.DecodeRuneInString(s[i+nsize:]); i+nsize < len(s) && digitValue(nn) >= 0 {
				g.sep = next
			}
		}
		gs = append(gs, g)
	}
	return gs
}

// applyMasks masks the number characters of each match.
func applyMasks(s string, ms []match) string {
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, m := range ms {
		b.WriteString(s[last:m.num])
		seg := s[m.num:m.end]
		var norm []byte
		for _, r := range seg {
			if d := digitValue(r); d >= 0 {
				norm = append(norm, byte('0'+d))
			} else if isX(r) {
				norm = append(norm, 'X')
			}
		}
		var masked string
		switch m.kind {
		case KindIDNumber:
			masked = MaskID(string(norm))
		case KindMobile:
			masked = MaskPhone(string(norm))
		default:
			masked = MaskAccount(string(norm))
		}
		k := 0
		for i := 0; i < len(seg); {
			r, size := utf8.DecodeRuneInString(seg[i:])
			if digitValue(r) < 0 && !isX(r) {
				b.WriteString(seg[i : i+size])
				i += size
				continue
			}
			if masked[k] == '*' {
				b.WriteByte('*')
			} else {
				b.WriteString(seg[i : i+size])
			}
			i += size
			k++
		}
		last = m.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// skipRunes returns the offset n runes after p.
func skipRunes(s string, p, n int) int {
	for range n {
		_, size := utf8.DecodeRuneInString(s[p:])
		p += size
	}
	return p
}

// digitValue is 0-9 for an ASCII or full-width digit, -1 otherwise.
func digitValue(r rune) int {
	switch {
	case r >= '0' && r <= '9':
		return int(r - '0')
	case r >= '０' && r <= '９':
		return int(r - '０')
	}
	return -1
}

func isX(r rune) bool { return r == 'X' || r == 'x' || r == 'Ｘ' || r == 'ｘ' }

// joins reports whether r would run on into a number next to it: a digit or
// a Latin letter, ASCII or full-width.
func joins(r rune) bool {
	return digitValue(r) >= 0 || (r < utf8.RuneSelf && isASCIILetter(byte(r))) ||
		(r >= 'Ａ' && r <= 'Ｚ') || (r >= 'ａ' && r <= 'ｚ')
}

func isSeparator(r rune) bool {
	return r == ' ' || r == '-' || r == '\u00a0' || r == '\u3000' || r == '－'
}

func isASCIILetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func isASCIIDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := range len(s) {
		if !isASCIIDigit(s[i]) {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n := 0
	for i := range len(s) {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// asciiLower lower-cases ASCII letters only, so byte offsets stay valid.
func asciiLower(s string) string {
	for i := range len(s) {
		if s[i] >= 'A' && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

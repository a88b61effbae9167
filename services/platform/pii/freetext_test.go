package pii

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Numbers used below, checked by hand:
//   - 110101199003071233: valid ID (MOD 11-2 check character 3), not Luhn.
//   - 110101199003071234: bad ID check character, not Luhn either.
//   - 110101199003071235: bad ID check character, but passes Luhn (a card).
//   - 44030419851231002X: valid ID with an X check character.
//   - 6222021234567890: fails Luhn; 6222021234567894 and 6222021234567890128 pass.
//   - 1234567890123: fails Luhn.

func TestFindPersonalNumbers(t *testing.T) {
	type want struct {
		text string
		kind Kind
	}
	cases := []struct {
		name string
		in   string
		want []want
	}{
		{"account after 收款账号 next to an amount", "客户办理30万元汇款，柜员将收款账号6222021234567890录错一位",
			[]want{{"6222021234567890", KindAccount}}},
		{"ID and dashed mobile", "客户身份证110101199003071233，手机138-1234-5678",
			[]want{{"110101199003071233", KindIDNumber}, {"138-1234-5678", KindMobile}}},
		{"mobile glued to Chinese characters", "客户王先生13812345678来电",
			[]want{{"13812345678", KindMobile}}},
		{"card in 4s in English", "card 4111 1111 1111 1111 declined",
			[]want{{"4111 1111 1111 1111", KindCard}}},
		{"non-Luhn account after 账号", "账号 1234567890123 (not Luhn)",
			[]want{{"1234567890123", KindAccount}}},
		{"Luhn card with no keyword", "客户称6222021234567894被盗刷",
			[]want{{"6222021234567894", KindCard}}},
		{"19-digit card grouped 4-4-4-4-3", "卡 6222 0212 3456 7890 128 被吞",
			[]want{{"6222 0212 3456 7890 128", KindCard}}},
		{"ID with X check character", "证件号码44030419851231002X已核实",
			[]want{{"44030419851231002X", KindIDNumber}}},
		{"ID with lower-case x", "ID 44030419851231002x", []want{{"44030419851231002x", KindIDNumber}}},
		{"ID grouped 6-8-4", "身份证 110101 19900307 1233", []want{{"110101 19900307 1233", KindIDNumber}}},
		{"mistyped ID after an ID keyword", "客户身份证110101199003071234，手机138-1234-5678",
			[]want{{"110101199003071234", KindIDNumber}, {"138-1234-5678", KindMobile}}},
		{"old 15-digit ID", "老身份证110101900307123", []want{{"110101900307123", KindIDNumber}}},
		{"mobile 3-4-4 with spaces", "回电 138 1234 5678 即可", []want{{"138 1234 5678", KindMobile}}},
		{"+86 glued", "tel: +8613812345678", []want{{"+8613812345678", KindMobile}}},
		{"+86 and a space", "call +86 13912345678 now", []want{{"+86 13912345678", KindMobile}}},
		{"0086 and dashes", "0086-139-1234-5678", []want{{"0086-139-1234-5678", KindMobile}}},
		{"86 glued", "8613812345678", []want{{"8613812345678", KindMobile}}},
		{"mobile after a date", "2026-11-23 13812345678", []want{{"13812345678", KindMobile}}},
		{"two mobiles in one run", "13812345678 13912345678",
			[]want{{"13812345678", KindMobile}, {"13912345678", KindMobile}}},
		{"mobile in markdown bold", "**13812345678**", []want{{"13812345678", KindMobile}}},
		{"full-width mobile", "手机１３８１２３４５６７８", []want{{"１３８１２３４５６７８", KindMobile}}},
		{"account in English", "Acct no. 0012345678 frozen", []want{{"0012345678", KindAccount}}},
		{"account after a/c", "A/C: 12345678901", []want{{"12345678901", KindAccount}}},
		{"account grouped in 4s", "付款账号：6222 0212 3456 7890 13", []want{{"6222 0212 3456 7890 13", KindAccount}}},
		{"bad-checksum ID near an account keyword is an account", "户号110101199003071234",
			[]want{{"110101199003071234", KindAccount}}},
		{"bad-checksum 18 digits that pass Luhn are a card", "110101199003071235",
			[]want{{"110101199003071235", KindCard}}},
		{"13-digit Luhn run after 卡号 is a card", "卡号 4222222222222", []want{{"4222222222222", KindCard}}},
		{"Amex 4-6-5", "AE card 3782 822463 10005", []want{{"3782 822463 10005", KindCard}}},

		// Nothing to find.
		{"amounts", "客户办理30万元汇款，金额300000元，手续费¥1,234.56", nil},
		{"dates and times", "2026-11-23 14:30 来电，20261123 再次来电", nil},
		{"case number", "见工单CD-20261122-000042", nil},
		{"bad-checksum ID with no keyword", "编号110101199003071234", nil},
		{"digits inside an order number", "订单号A12345678901234567", nil},
		{"digits followed by letters", "13812345678abc", nil},
		{"number too far from the keyword", "账号信息已经由客户本人在柜台重新核对确认无误了 1234567890123", nil},
		{"keyword inside a longer word", "discard 1234567890123", nil},
		{"keyword starting a longer word", "accounting ref 1234567890123", nil},
		{"plural keyword", "two accounts: 1234567890123", []want{{"1234567890123", KindAccount}}},
		{"amount after an account keyword", "账户余额 12345678901元", nil},
		{"amount with currency before it", "账户入账¥ 12345678901", nil},
		{"decimal amount", "账户余额12345678901.50", nil},
		{"13-digit timestamp", "ts=1732233600000 ok", nil},
		{"date and time after an account keyword", "账户于20261123143000开立", nil},
		{"12 digits after a keyword that are not a time", "账户202611236000", []want{{"202611236000", KindAccount}}},
		{"landline", "010-12345678", nil},
		{"mixed separators are not 3-4-4", "138 1234-5678", nil},
		{"impossible birth date", "19900230 → 110101199002301230", nil},
		{"no digits", "客户投诉服务态度差", nil},
		{"empty", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := FindPersonalNumbers(c.in)
			if len(got) != len(c.want) {
				t.Fatalf("FindPersonalNumbers(%q) = %v, want %d spans", c.in, spanTexts(c.in, got), len(c.want))
			}
			for i, w := range c.want {
				if text := c.in[got[i].Start:got[i].End]; text != w.text || got[i].Kind != w.kind {
					t.Errorf("span %d = %q %v, want %q %v", i, text, got[i].Kind, w.text, w.kind)
				}
			}
			if ContainsPersonalNumber(c.in) != (len(c.want) > 0) {
				t.Errorf("ContainsPersonalNumber(%q) = %v", c.in, len(c.want) == 0)
			}
		})
	}
}

func spanTexts(s string, spans []Span) []string {
	var out []string
	for _, sp := range spans {
		out = append(out, sp.Kind.String()+":"+s[sp.Start:sp.End])
	}
	return out
}

func TestMaskFreeText(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"account keeps last 4 like MaskAccount", "客户办理30万元汇款，柜员将收款账号6222021234567890录错一位",
			"客户办理30万元汇款，柜员将收款账号************7890录错一位"},
		{"ID like MaskID, mobile like MaskPhone, separators kept", "客户身份证110101199003071233，手机138-1234-5678",
			"客户身份证110***********1233，手机138-****-5678"},
		{"glued mobile", "客户王先生13812345678来电", "客户王先生138****5678来电"},
		{"card keeps last 4 and its grouping", "card 4111 1111 1111 1111 declined", "card **** **** **** 1111 declined"},
		{"19-digit card", "卡 6222 0212 3456 7890 128 被吞", "卡 **** **** **** ***0 128 被吞"},
		{"non-Luhn account", "账号 1234567890123 (not Luhn)", "账号 *********0123 (not Luhn)"},
		{"ID with X keeps the X", "证件号码44030419851231002X", "证件号码440***********002X"},
		{"prefix kept", "call +86 139-1234-5678 or 008613812345678", "call +86 139-****-5678 or 0086138****5678"},
		{"full-width digits masked one for one", "手机１３８１２３４５６７８", "手机１３８****５６７８"},
		{"amounts dates and case numbers untouched", "30万元，300000元，¥1,234.56，2026-11-23，CD-20261122-000042",
			"30万元，300000元，¥1,234.56，2026-11-23，CD-20261122-000042"},
		{"bare bad-checksum ID untouched", "编号110101199003071234", "编号110101199003071234"},
		{"no digits", "客户投诉服务态度差", "客户投诉服务态度差"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := MaskFreeText(c.in)
			if got != c.want {
				t.Fatalf("MaskFreeText(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
			for _, sp := range FindPersonalNumbers(c.in) {
				if digits := digitsOf(c.in[sp.Start:sp.End]); strings.Contains(digitsOf(got), digits) {
					t.Errorf("masked text still holds %s", digits)
				}
			}
			if again := MaskFreeText(got); again != got {
				t.Errorf("masking twice gives %q", again)
			}
		})
	}
}

func TestMaskFreeTextRescansRunOnDigits(t *testing.T) {
	// Only the mobile is found in the input, but once it is masked its kept
	// "5678" runs on into "5678 4567 8901 2345": 16 digits in 4s that pass
	// Luhn. MaskFreeText masks that too rather than leave a card in clear.
	in := "138 1234 5678 4567 8901 2345"
	if got := spanTexts(in, FindPersonalNumbers(in)); len(got) != 1 || got[0] != "mobile:138 1234 5678" {
		t.Fatalf("spans = %v", got)
	}
	if got, want := MaskFreeText(in), "138 **** **** **** **** 2345"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestMaskFreeTextFailsClosedAfterMaxPasses(t *testing.T) {
	// With one pass allowed, the run-on card above is still there after it,
	// so every digit goes.
	defer func(n int) { maxMaskPasses = n }(maxMaskPasses)
	maxMaskPasses = 1
	if got, want := MaskFreeText("¥30 138 1234 5678 4567 8901 2345"), "¥** *** **** **** **** **** ****"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got, want := MaskFreeText("¥30 手机13812345678"), "¥30 手机138****5678"; got != want {
		t.Fatalf("one pass enough: got %q, want %q", got, want)
	}
}

func TestMaskFreeTextReturnsTextWithoutNumbersAsIs(t *testing.T) {
	s := "客户投诉柜员态度差，要求回电 and an apology."
	if got := MaskFreeText(s); got != s {
		t.Fatalf("changed to %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = MaskFreeText(s) }); n != 0 {
		t.Errorf("%v allocations for text without digits", n)
	}
}

func TestSpansNeverSplitRunes(t *testing.T) {
	s := "王先生１３８１２３４５６７８来电，身份证44030419851231002Ｘ。"
	spans := FindPersonalNumbers(s)
	if len(spans) != 2 {
		t.Fatalf("spans = %v", spanTexts(s, spans))
	}
	for _, sp := range spans {
		if !utf8.ValidString(s[:sp.Start]) || !utf8.ValidString(s[sp.Start:sp.End]) || !utf8.ValidString(s[sp.End:]) {
			t.Errorf("span %v splits a rune", sp)
		}
	}
	if got, want := MaskFreeText(s), "王先生１３８****５６７８来电，身份证440***********002Ｘ。"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindIDNumber: "id_number", KindMobile: "mobile", KindCard: "card", KindAccount: "account", 0: "unknown"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q", int(k), k.String())
		}
	}
}

func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if d := digitValue(r); d >= 0 {
			b.WriteByte(byte('0' + d))
		} else if isX(r) {
			b.WriteByte('X')
		}
	}
	return b.String()
}

func FuzzMaskFreeText(f *testing.F) {
	for _, s := range []string{
		"客户办理30万元汇款，柜员将收款账号6222021234567890录错一位",
		"客户身份证110101199003071233，手机138-1234-5678",
		"card 4111 1111 1111 1111 declined",
		"账号 1234567890123 (not Luhn)",
		"客户王先生13812345678来电",
		"+86 138 1234 5678 / 0086-13912345678",
		"卡 6222 0212 3456 7890 128 被吞",
		"138 1234 5678 4567 8901 2345 6789",
		"110101199003071233 4444 4444 4444",
		"证件号码44030419851231002X，ID 110101 19900307 1233",
		"手机１３８１２３４５６７８",
		"30万元，¥1,234.56，2026-11-23，CD-20261122-000042",
		"\xff13812345678\xe4\xb8",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := MaskFreeText(in)
		if utf8.ValidString(out) != utf8.ValidString(in) {
			t.Fatalf("validity changed: %q -> %q", in, out)
		}
		if utf8.RuneCountInString(out) != utf8.RuneCountInString(in) {
			t.Fatalf("rune count changed: %q -> %q", in, out)
		}
		// Only number characters change, and only to '*'.
		for i, j := 0, 0; i < len(in); {
			r, n := utf8.DecodeRuneInString(in[i:])
			o, m := utf8.DecodeRuneInString(out[j:])
			if in[i:i+n] != out[j:j+m] && (o != '*' || (digitValue(r) < 0 && !isX(r))) {
				t.Fatalf("%q -> %q: %q became %q", in, out, in[i:i+n], out[j:j+m])
			}
			i, j = i+n, j+m
		}
		if spans := FindPersonalNumbers(out); len(spans) != 0 {
			t.Fatalf("MaskFreeText(%q) = %q still holds %v", in, out, spanTexts(out, spans))
		}
		if again := MaskFreeText(out); again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
		}
		spans := FindPersonalNumbers(in)
		if len(spans) == 0 && out != in {
			t.Fatalf("no spans but %q -> %q", in, out)
		}
		if ContainsPersonalNumber(in) != (len(spans) > 0) {
			t.Fatalf("ContainsPersonalNumber(%q) disagrees with %v", in, spans)
		}
		boundary := map[int]bool{len(in): true} // where decoding puts rune starts
		for i := 0; i < len(in); {
			boundary[i] = true
			_, n := utf8.DecodeRuneInString(in[i:])
			i += n
		}
		last := 0
		for _, sp := range spans {
			if sp.Start < last || sp.End <= sp.Start || sp.End > len(in) {
				t.Fatalf("bad span %v in %q", sp, in)
			}
			if !boundary[sp.Start] || !boundary[sp.End] {
				t.Fatalf("span %v splits a rune in %q", sp, in)
			}
			last = sp.End
		}
		if !strings.ContainsAny(in, "0123456789０１２３４５６７８９") && out != in {
			t.Fatalf("text without digits changed: %q -> %q", in, out)
		}
	})
}

// Package calendar decides which civil days a bank is open and how much
// business time lies between two instants, so that SLA deadlines counted in
// working days or business hours follow the bank's real calendar: in China
// weekends off, statutory holidays off and the weekend days the State Council
// declares working days (调休上班) on, plus each bank's own closures and extra
// working days. It is pure domain code (no I/O beyond the embedded data file).
//
// Holiday data is only known for the years it was published for (China: see
// China and Calendar.Covers). Outside those years the calendar falls back to
// "Monday to Friday are working days", which is knowingly wrong around public
// holidays; callers that must not silently rely on that ask Covers.
//
// The arithmetic is rickar/cal's BusinessCalendar (IsWorkday through a
// WorkdayFunc, WorkdaysFrom, AddWorkHours, WorkHoursInRange). Two pieces are
// our own, and why: (1) the starting instant is moved to the next opening by
// NextOpening before it is handed to rickar/cal, because rickar/cal compares
// clock times to the second only (an instant a fraction of a second after
// closing counted as negative business time) and steps to the next day by
// adding 24 hours, which can skip a day when started late in the evening
// before a daylight-saving change; (2) opening and closing times are built
// with time.Date from the civil date (WorkdayStartFunc/WorkdayEndFunc) rather
// than "midnight plus a duration", so that 09:00 stays 09:00 on DST days in
// zones that have them. Asia/Shanghai has no DST; the care is for banks in
// other zones.
package calendar

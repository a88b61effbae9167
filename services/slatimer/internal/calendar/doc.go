// Package calendar decides which civil days a bank is open and how much
// business time lies between two instants, so that SLA deadlines counted in
// working days or business hours follow the bank's real calendar: in China
// weekends off, statutory holidays off and the weekend days the State Council
// declares working days (调休上班) on, plus each bank's own closures and extra
// working days. It is pure domain code (no I/O beyond the embedded data
// files; the time is always a parameter, never the clock).
//
// Holiday data is only known for the years a State Council notice was
// published for (China: see China, ChinaSources and Calendar.Covers); each
// notice appears around November of the year before, so an operator loads a
// new year at run time (ValidateYear, Calendar.LoadYear, ParseFile). Outside
// the official years the calendar does not pretend Monday to Friday are all
// working days: it falls back to the holidays the law itself fixes
// (StatutoryHolidays: New Year's Day, the four days of Spring Festival from
// lunar New Year's Eve, Qingming, May 1-2, Dragon Boat, Mid-Autumn,
// October 1-3), computed from the lunar calendar with lunar-go. That is
// still only an approximation (the notice adds bridge days and make-up
// working days), so such results are provisional: callers ask
// Calendar.Provisional(from, result).
//
// The national data and a bank's own closures are kept apart: closures win,
// and reloading a year does not wipe them. Clone gives an independent copy;
// Derive a per-branch calendar that follows national reloads.
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
// other zones. The same-clock-time counting of a public calendar
// (AddWorkingDaysSameTime, WorkingDaysBetween, AddCalendarDays) is our own
// for the same reason: it steps civil dates (Date.AddDays) and builds the
// instant with time.Date (Date.At), never adding 24 hours.
package calendar

// Package notify holds the rules of customer notifications, free of any
// transport or storage: which message a fact about a case calls for, how that
// message reads in the customer's language, the life of one delivery
// (pending, then sent, skipped or failed) and how long to wait before trying
// again. Adapters beside it store deliveries, fetch contacts and send mail.
package notify

module github.com/counterdesk/counterdesk/services/slatimer

go 1.26.0

require github.com/rickar/cal/v2 v2.1.13

module github.com/counterdesk/counterdesk/services/intake

go 1.26.0

module github.com/counterdesk/counterdesk/services/notification

go 1.26.0

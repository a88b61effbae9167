module github.com/counterdesk/counterdesk/services/reporting

go 1.26.0

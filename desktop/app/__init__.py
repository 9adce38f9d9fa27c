"""Use cases over one explicit context: start, run, resume, revise, reject, approve, merge, reinstall, history.

Every front end (window, CLI, Slack) calls these and nothing below them. Importing this
package imports nothing else: the window reads history before anything heavy loads."""

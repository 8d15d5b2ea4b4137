// Package repocheck holds tests about the repository itself rather than about a package:
// that no file carries an absolute path of the machine it was written on. It has no code.
package repocheck

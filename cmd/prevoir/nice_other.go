//go:build !linux

package main

import "errors"

func setNice(int) error { return errors.New("not supported on this system") }

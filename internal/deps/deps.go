package deps

import (
	_ "github.com/bmatcuk/doublestar/v4"
	_ "github.com/rhysd/actionlint"
	_ "github.com/sethvargo/go-githubactions"
	_ "github.com/stretchr/testify/require"
	_ "gopkg.in/yaml.v3"
)

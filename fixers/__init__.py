"""One codemod per fixable rule, named like the rule it fixes."""

require('../lib/cases.cjs').failingCase();

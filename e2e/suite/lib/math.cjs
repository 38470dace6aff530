function add(a, b) {
  return a + b;
}

function neverCalled() {
  return 'not covered';
}

module.exports = { add, neverCalled };

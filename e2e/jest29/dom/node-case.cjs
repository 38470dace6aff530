// The node project's case: no DOM there.
module.exports = function nodeCase(n) {
  test(`the node project runs without a DOM (file ${n})`, () => {
    expect(typeof document).toBe('undefined');
  });
};

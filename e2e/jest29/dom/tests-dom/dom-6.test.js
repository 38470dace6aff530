require('../dom-case.cjs')(6);

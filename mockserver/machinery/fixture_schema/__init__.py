"""The parts of the fixture format both vendors share: scalars (ids, names, moments, field
values) and the ``state`` section; each vendor declares its section in
mockserver/<vendor>/fixture_schema.py and mockserver/vendors/fixture_schema.py the document."""

"""Plans computed on the model beside the indicators: what is missing to each target
(``gaps``), pair suggestions (``pairs``) and the deadline calendar (``calendar``)."""

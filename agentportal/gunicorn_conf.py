"""gunicorn settings for production:
`gunicorn -c python:agentportal.gunicorn_conf agentportal.wsgi`.

The access log leaves out query strings and referrers: a CRM deep link
(`/invite/?phone=…&name=…`) carries a customer's number and name, which must not reach logs.
"""

accesslog = "-"
# The default format with the path (%(U)s) instead of the request line with its query string
# (%(r)s), and without the Referer header.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms'

"""What a browser gets outside the APIs: the HTML pages (public site, sign-in and sign-up,
settings, admin) and RSS, the files of the media store and the media proxy, the health
check."""
